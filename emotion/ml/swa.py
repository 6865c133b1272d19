"""Stochastic weight averaging (SWA) of a run's last epochs.

The mean of the weights a run visits late in its schedule sits in a flatter
part of the loss surface than any single epoch's weights, and usually
generalises better (Izmailov et al., 2018, "Averaging Weights Leads to Wider
Optima and Better Generalization"). Training keeps a running mean of the
weights at the end of each epoch in the window; the BatchNorm statistics of
the averaged net are not the mean of the epochs' statistics, so they are
recomputed on the training faces before the average is evaluated.
"""

import os
from pathlib import Path

import keras
import numpy as np
from numpy.typing import NDArray


class WeightAverage:
    """Running mean of a model's weights, saved beside the checkpoint.

    Each save is a new ``swa-<count>.npz`` and the run's state names the
    count it belongs to, so a run killed between the two files resumes with
    the matching average; older files are pruned after the state is saved.
    """

    def __init__(self, weights: list[NDArray] | None = None, count: int = 0) -> None:
        self.weights = weights or []
        self.count = count

    @staticmethod
    def path(directory: Path, count: int) -> Path:
        return directory / f"swa-{count}.npz"

    def update(self, model: keras.Model) -> None:
        """Fold the model's current weights into the mean."""
        current = [np.asarray(w, np.float64) for w in model.get_weights()]
        self.count += 1
        if self.count == 1:
            self.weights = current
        else:
            self.weights = [avg + (w - avg) / self.count for avg, w in zip(self.weights, current, strict=True)]

    def save(self, directory: Path) -> None:
        """Write atomically, like the checkpoint's other files."""
        path = self.path(directory, self.count)
        tmp = path.with_name("tmp-" + path.name)
        with tmp.open("wb") as handle:
            np.savez(handle, *self.weights)
        os.replace(tmp, path)

    def prune(self, directory: Path) -> None:
        """Delete the averages of earlier epochs (the state no longer points at them)."""
        keep = self.path(directory, self.count)
        for old in directory.glob("swa-*.npz"):
            if old != keep:
                old.unlink()

    @classmethod
    def load(cls, directory: Path, count: int) -> "WeightAverage":
        """The mean of ``count`` epochs saved in ``directory`` (empty for 0)."""
        if not count:
            return cls()
        with np.load(cls.path(directory, count)) as data:
            return cls([data[f"arr_{i}"] for i in range(len(data.files))], count)

    def apply_to(self, model: keras.Model) -> None:
        """Set ``model``'s weights to the mean (BatchNorm statistics still to recompute)."""
        model.set_weights([w.astype(np.float32) for w in self.weights])


def recompute_batchnorm(model: keras.Model, x: NDArray[np.float32], batch_size: int = 256) -> None:
    """Set every BatchNorm layer's moving statistics to its input's exact mean and variance.

    Layers are done in order, each measured in inference mode with the
    layers before it already corrected, so the statistics match what the
    shipped net sees; no dropout or augmentation is involved.
    """
    for layer in model.layers:
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        probe = keras.Model(model.input, layer.input)
        total = sq_total = None
        n = 0
        for start in range(0, len(x), batch_size):
            out = np.asarray(probe(x[start : start + batch_size], training=False), np.float64)
            out = out.reshape(-1, out.shape[-1])
            batch_sum, batch_sq = out.sum(0), np.square(out).sum(0)
            total = batch_sum if total is None else total + batch_sum
            sq_total = batch_sq if sq_total is None else sq_total + batch_sq
            n += len(out)
        mean = total / n
        layer.moving_mean.assign(mean.astype(np.float32))
        layer.moving_variance.assign(np.maximum(sq_total / n - np.square(mean), 0).astype(np.float32))

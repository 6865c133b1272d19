"""Classification metrics and reports (test-time augmentation: :mod:`emotion.ml.tta`).

Used by the training script (validation and PublicTest reports) and as a
stand-alone CLI::

    python -m emotion.ml.evaluate --model emotion/model/emotion.keras \
        --data fer2013_val.npz --json eval.json --png confusion.png [--tta]
"""

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn import metrics
from tqdm import tqdm

from emotion.ml.labels import CLASSES, NUM_CLASSES
from emotion.ml.tta import TTA_SUFFIX, predict_proba

LABELS = np.arange(NUM_CLASSES)


EVAL_CHUNK = 512  # faces per progress step


def confusion_matrix(y_true: NDArray[np.int64], y_pred: NDArray[np.int64]) -> NDArray[np.int64]:
    """Counts with rows = true class, columns = predicted class (every class, even unseen ones)."""
    return metrics.confusion_matrix(y_true, y_pred, labels=LABELS).astype(np.int64)


def compute_metrics(y_true: NDArray[np.int64], y_pred: NDArray[np.int64], model_version: str) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class P/R/F1/support and the confusion matrix.

    A class never predicted (or never present) scores 0, and macro-F1 averages all seven
    classes, so a model that ignores disgust pays for it.
    """
    matrix = confusion_matrix(y_true, y_pred)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=LABELS, average=None, zero_division=0.0
    )
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(f1.mean()),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(CLASSES)
        },
        "confusion": matrix.tolist(),
        "classes": list(CLASSES),
        "n": len(y_true),
        "model_version": model_version,
    }


def save_confusion_png(report: dict[str, Any], path: str | Path, title: str = "") -> None:
    """Plot the row-normalised confusion matrix with counts as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.array(report["confusion"], dtype=np.float64)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="fraction of true class")
    ticks = range(len(report["classes"]))
    ax.set_xticks(ticks, report["classes"], rotation=45, ha="right")
    ax.set_yticks(ticks, report["classes"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), count in np.ndenumerate(matrix):
        colour = "white" if normalised[i, j] > 0.5 else "black"
        ax.text(j, i, f"{int(count)}\n{normalised[i, j]:.2f}", ha="center", va="center", fontsize=7, color=colour)
    ax.set_title(title or f"accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(report: dict[str, Any], json_path: str | Path, png_path: str | Path | None) -> None:
    """Write the report JSON (and the confusion PNG when a path is given)."""
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
    if png_path is not None:
        save_confusion_png(report, png_path)


def add_arguments(parser: argparse.ArgumentParser, default_model: Path | None = None) -> None:
    """Declare the options (shared with the ``evaluate_emotion_model`` command)."""
    parser.add_argument(
        "--model", required=default_model is None, default=default_model, type=Path, help=".keras model file"
    )
    parser.add_argument("--data", required=True, type=Path, help="folder, .csv or .npz")
    parser.add_argument("--usage", help="Usage filter for fer2013.csv (e.g. PublicTest)")
    parser.add_argument("--tta", action="store_true", help="average over flips and shifts")
    parser.add_argument("--json", required=True, type=Path, dest="json_path", help="report path")
    parser.add_argument("--png", type=Path, help="confusion-matrix image")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate a saved Keras model on a dataset and write the report."""
    from emotion.ml.datasets import load_dataset
    from emotion.ml.inference import load_keras_predictor, model_version_of
    from emotion.ml.preprocess import to_network_input

    images, labels = load_dataset(args.data, args.usage)
    predict, x = load_keras_predictor(args.model), to_network_input(images)
    chunks = range(0, len(x), EVAL_CHUNK)
    probs = np.concatenate(
        [
            predict_proba(predict, x[i : i + EVAL_CHUNK], args.tta)
            for i in tqdm(chunks, desc="evaluating", unit="chunk", disable=None)  # bar with ETA on a terminal
        ]
    )
    version = model_version_of(args.model) + (TTA_SUFFIX if args.tta else "")
    report = compute_metrics(labels, probs.argmax(axis=1), version)
    write_report(report, args.json_path, args.png)
    print(f"accuracy={report['accuracy']:.4f} macro_f1={report['macro_f1']:.4f} n={report['n']}")
    return report


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()

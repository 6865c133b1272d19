"""Combine trained emotion CNNs into one weighted-average model and ship it.

Nets of different architectures make different mistakes, so averaging their
probabilities beats each of them: the classic way FER2013 results above a
single CNN's are reached. The members' weights are chosen on the same seeded
validation split carved from Training that picked each member's best epoch;
the test set is only measured once, on the result. ::

    python -m emotion.ml.ensemble --member vgg.keras --member resnet.keras \
        --data fer2013_train.npz --test-data fer2013_val.npz --tta --out emotion/model

The result is one Keras model (members nested, weights as fixed rescaling
layers), so evaluation, the LiteRT export and the worker treat it like any
other model.
"""

import argparse
import itertools
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np
from numpy.typing import NDArray

from emotion.ml.datasets import load_dataset, stratified_split
from emotion.ml.inference import keras_predictor
from emotion.ml.models import ARCHITECTURES, build_model
from emotion.ml.preprocess import FACE_SIZE, to_network_input
from emotion.ml.train import CARD_FILE, DEFAULT_OUT, configure_tensorflow, lineage_seconds, publish
from emotion.ml.tta import predict_proba

WEIGHT_STEP = 0.05  # grid resolution of the weight search


def load_member(path: Path, index: int) -> tuple[keras.Model, dict[str, Any]]:
    """Rebuild a member from its card's architecture (unique name) with the file's weights."""
    if not path.is_file():
        raise SystemExit(f"--member {path}: no such model file")
    card_path = path.parent / CARD_FILE
    if not card_path.is_file():
        raise SystemExit(f"--member {path}: no {CARD_FILE} beside it (its architecture and split are unknown)")
    card = json.loads(card_path.read_text())
    if card.get("architecture") not in ARCHITECTURES:
        raise SystemExit(f"--member {path}: architecture {card.get('architecture')!r} cannot be a member")
    model = build_model(card["architecture"], name=f"m{index}_{card['architecture']}")
    model.set_weights(keras.models.load_model(path, compile=False).get_weights())
    return model, card


def build_ensemble(members: list[keras.Model], weights: list[float]) -> keras.Model:
    """One model whose output is the weighted mean of the members' probabilities."""
    face = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    scaled = [
        keras.layers.Rescaling(weight, name=f"w{i}")(member(face))
        for i, (member, weight) in enumerate(zip(members, weights, strict=True))
    ]
    return keras.Model(face, keras.layers.Add(name="probs")(scaled), name="ensemble")


def fit_weights(probs: list[NDArray[np.float32]], labels: NDArray[np.int64], step: float = WEIGHT_STEP) -> list[float]:
    """Weights on a grid over the simplex that maximise accuracy on ``labels``.

    Ties (common: accuracy moves in whole faces) go to the lower log-loss, so
    the choice is stable rather than the first grid point that hits the max.
    """
    ticks = round(1 / step)
    best: tuple[float, float, list[float]] | None = None
    for combo in itertools.product(range(ticks + 1), repeat=len(probs) - 1):
        if sum(combo) > ticks:
            continue
        weights = [c / ticks for c in combo] + [(ticks - sum(combo)) / ticks]
        mixed = sum(w * p for w, p in zip(weights, probs, strict=True))
        accuracy = float(np.mean(mixed.argmax(1) == labels))
        loss = float(-np.mean(np.log(np.clip(mixed[np.arange(len(labels)), labels], 1e-7, 1))))
        if best is None or (accuracy, -loss) > (best[0], -best[1]):
            best = (accuracy, loss, weights)
    assert best is not None
    return best[2]


def _member_summary(path: Path, card: dict[str, Any], weight: float, val_accuracy: float) -> dict[str, Any]:
    return {
        "file": str(path),
        "model_version": card.get("model_version"),
        "architecture": card["architecture"],
        "parameters": card.get("parameters"),
        "weight": weight,
        "val_accuracy": val_accuracy,
        "epochs_run": card.get("epochs_run"),
        "best_epoch": card.get("best_epoch"),
        "training_seconds": lineage_seconds(card),
        "init_from": card.get("init_from"),
        "hyperparameters": card.get("hyperparameters"),
        "test_metrics": card.get("test_metrics"),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load the members, fit their weights on the validation split, ship the ensemble."""
    if len(args.member) < 2:
        raise SystemExit("An ensemble needs at least two --member models")
    configure_tensorflow(args.threads, "float32")
    loaded = [load_member(path, i) for i, path in enumerate(args.member)]
    splits = {(c["data"]["split"]["fraction"], c["data"]["split"]["seed"]) for _, c in loaded}
    if len(splits) != 1:
        raise SystemExit(f"Members were selected on different validation splits {sorted(splits)}; refit one of them")
    fraction, seed = splits.pop()

    images, labels = load_dataset(args.data, args.usage)
    _, val_idx = stratified_split(labels, fraction, seed)
    x_val, y_val = to_network_input(images[val_idx]), labels[val_idx]
    probs = [predict_proba(keras_predictor(model), x_val, args.tta) for model, _ in loaded]
    weights = fit_weights(probs, y_val)
    member_cards = [
        _member_summary(path, card, weight, float(np.mean(p.argmax(1) == y_val)))
        for path, (_, card), weight, p in zip(args.member, loaded, weights, probs, strict=True)
    ]
    for member in member_cards:
        print(f"{member['model_version']}: weight {member['weight']:.2f}, val accuracy {member['val_accuracy']:.4f}")

    model = build_ensemble([m for m, _ in loaded], weights)
    version = f"{args.name}-{datetime.now(UTC):%Y%m%d}"
    card = {
        "model_version": version,
        "architecture": "ensemble",
        "members": member_cards,
        "weights_fitted_on": f"validation split ({'TTA' if args.tta else 'plain'} accuracy, grid step {WEIGHT_STEP})",
        # Snapshots of one training lineage share ancestors, whose time counts once.
        "training_seconds": round(lineage_seconds(*(c for _, c in loaded)), 1),
        "hyperparameters": {"seed": seed, "val_fraction": fraction},
    }
    split = {
        "train": len(labels) - len(val_idx),
        "val": len(val_idx),
        "seed": seed,
        "fraction": fraction,
        "stratified": True,
    }
    card = publish(model, args, version=version, split=split, card=card)
    print(json.dumps({k: card[k] for k in ("model_version", "val_metrics")}, indent=2))
    if "test_metrics" in card:
        print(json.dumps(card["test_metrics"], indent=2))
    return card


def add_arguments(p: argparse.ArgumentParser, default_out: Path = DEFAULT_OUT) -> None:
    """Declare the options (shared with the ``build_emotion_ensemble`` command)."""
    p.add_argument("--member", action="append", required=True, type=Path, help=".keras model (repeat, 2 or more)")
    p.add_argument("--data", required=True, type=Path, help="the members' training set (for the validation split)")
    p.add_argument("--usage", help="Usage filter when --data is fer2013.csv (e.g. Training)")
    p.add_argument("--out", type=Path, default=default_out, help="where the shipped model goes")
    p.add_argument("--name", default="ensemble", help="model_version prefix")
    p.add_argument("--test-data", type=Path, help="held-out test set evaluated once at the end")
    p.add_argument("--test-usage", help="Usage filter when --test-data is fer2013.csv")
    p.add_argument("--tta", action="store_true", help="fit weights and report test metrics with TTA")
    p.add_argument("--benchmark-json", type=Path, help="extra copy of the test report")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="TF intra-op threads")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()

"""Train an emotion CNN on 48x48 faces, resumably, and ship the best model.

Runs without Django::

    python -m emotion.ml.train --data fer2013_train.npz --epochs 40 \
        [--resume] [--arch vgg] [--out emotion/model] [--test-data fer2013_val.npz]

Model selection (best epoch, early stopping) uses a seeded stratified split
carved from ``--data``; ``--test-data`` is only evaluated once at the end so
the reported test figure stays unbiased. Every epoch is checkpointed outside
the repository, and ``--resume`` continues from the last completed epoch
with the checkpoint's hyper-parameters; only ``--epochs`` (a larger value
extends the cosine schedule), ``--precision`` and, until averaging has
begun, ``--swa-epochs`` may change. Resuming a run whose schedule is already
complete just redoes the export step.

``--init-from MODEL.keras`` warm-starts a new run from a shipped model's
weights (a fresh warm-up + cosine cycle, i.e. a warm restart): an
under-trained model keeps improving without repeating the epochs it already
has. The card then records the parent model and counts its training time.

``--swa-epochs K`` also keeps a running mean of the weights over the last K
epochs of the schedule (stochastic weight averaging, ``emotion.ml.swa``);
the average is shipped instead of the best epoch only if it scores higher on
the validation split.
"""

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray
from tqdm import tqdm

from emotion.ml import calibrate, checkpoint, distill, release, swa
from emotion.ml.augment import AugmentConfig, augment_batch
from emotion.ml.datasets import load_dataset, stratified_split
from emotion.ml.evaluate import compute_metrics, write_report
from emotion.ml.inference import keras_predictor, tflite_predictor
from emotion.ml.labels import CLASSES, NUM_CLASSES
from emotion.ml.models import build_model
from emotion.ml.preprocess import FACE_PADDING, to_network_input
from emotion.ml.tta import TTA_DESCRIPTION, TTA_SUFFIX, predict_proba

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "model"
MODEL_FILE = "emotion.keras"
TFLITE_FILE = "emotion.tflite"
CARD_FILE = "model_card.json"
TEST_JSON = "eval_publictest.json"
TEST_PNG = "confusion_publictest.png"
REPRESENTATIVE_FACES = 300  # training faces that fix the int8 export's activation scales
BATCHNORM_FACES = 6000  # training faces the weight average's BatchNorm statistics are measured on


@dataclass
class TrainConfig:
    """Hyper-parameters; stored in the checkpoint and the model card."""

    arch: str = "vgg"
    epochs: int = 40
    batch_size: int = 64
    peak_lr: float = 2e-3
    warmup_epochs: int = 2
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    class_weight_power: float = 0.5
    val_fraction: float = 0.1
    patience: int = 0
    seed: int = 20240521
    precision: str = "float32"
    swa_epochs: int = 0
    # Knowledge distillation (emotion.ml.distill): a teacher .keras file whose
    # (test-time-augmented) probabilities on the training faces are soft targets.
    teacher: str = ""
    teacher_tta: bool = True
    kd_temperature: float = 2.0
    kd_alpha: float = 0.7
    augment: AugmentConfig = field(default_factory=AugmentConfig)


BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (Linux); empty where they cannot be read."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def native_bfloat16(flags: frozenset[str] | None = None) -> bool:
    """Whether bfloat16 math runs in hardware here (a GPU, or AMX/AVX-512 BF16).

    Without it TensorFlow emulates bfloat16 and an epoch takes over ten
    times longer than in float32 (measured on an AVX2-only EPYC).
    """
    if tf.config.list_physical_devices("GPU"):
        return True
    return bool(BF16_CPU_FLAGS & (cpu_flags() if flags is None else flags))


def resolve_precision(requested: str, native: bool) -> str:
    """Turn ``auto`` into the faster policy for this machine; warn on emulated bfloat16."""
    if requested == "auto":
        return "bfloat16" if native else "float32"
    if requested == "bfloat16" and not native:
        warnings.warn(
            "bfloat16 has no hardware support on this machine and will be far slower than float32",
            stacklevel=2,
        )
    return requested


def configure_tensorflow(threads: int, precision: str) -> None:
    """Pin TF thread pools and the float policy.

    Thread pools can only be set before TensorFlow's first op; when it is
    already running in this process (e.g. under pytest) the existing pools
    are kept with a warning.
    """
    if tf.config.threading.get_intra_op_parallelism_threads() != threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:
            warnings.warn("TensorFlow already initialised; thread settings unchanged", stacklevel=2)
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")


def class_weights(labels: NDArray[np.int64], power: float) -> NDArray[np.float32]:
    """Inverse-frequency weights ``(n_max/n_c)**power``, mean 1 over samples.

    ``power`` 0.5 lifts rare classes (disgust is ~1.5% of FER2013) without
    the accuracy loss of full inverse-frequency weighting.
    """
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64)
    weights = (counts.max() / np.maximum(counts, 1)) ** power
    weights /= (weights[labels]).mean()
    return weights.astype(np.float32)


def make_dataset(
    x: NDArray[np.float32],
    y: NDArray[np.int64],
    sample_weight: NDArray[np.float32],
    cfg: TrainConfig,
    epoch: int,
    soft_labels: NDArray[np.float32] | None = None,
) -> tf.data.Dataset:
    """One epoch of shuffled, augmented batches, fully determined by (seed, epoch).

    With ``soft_labels`` (distillation) each target is the one-hot label followed by them.
    """
    order = np.random.default_rng([cfg.seed, epoch]).permutation(len(x))
    images, targets = tf.constant(x), tf.one_hot(y, NUM_CLASSES)
    if soft_labels is not None:
        targets = tf.concat([targets, tf.constant(soft_labels)], axis=1)
    weights = tf.constant(sample_weight)

    def load(batch_index: tf.Tensor, idx: tf.Tensor) -> tuple[tf.Tensor, ...]:
        seed = tf.stack([tf.constant(cfg.seed, tf.int64), epoch * 100_000 + batch_index])
        batch = augment_batch(tf.gather(images, idx), seed, cfg.augment)
        return batch, tf.gather(targets, idx), tf.gather(weights, idx)

    # Fixed parallelism, autotuning off: the autotuner's thread kept each
    # epoch's iterator alive for ~50 s after its last batch on this 2-core CPU.
    options = tf.data.Options()
    options.autotune.enabled = False
    return (
        tf.data.Dataset.from_tensor_slices(order)
        .batch(cfg.batch_size, drop_remainder=True)
        .enumerate()
        .map(load, num_parallel_calls=2, deterministic=True)
        .prefetch(2)
        .with_options(options)
    )


def build_compiled_model(cfg: TrainConfig, steps_per_epoch: int) -> keras.Model:
    """Model + AdamW with linear warm-up and cosine decay over ``cfg.epochs``."""
    model = build_model(cfg.arch)
    warmup = cfg.warmup_epochs * steps_per_epoch
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=cfg.peak_lr / 20,
        decay_steps=max(1, cfg.epochs * steps_per_epoch - warmup),
        alpha=0.01,
        warmup_target=cfg.peak_lr,
        warmup_steps=warmup,
    )
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=cfg.weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    if cfg.teacher:
        loss: keras.losses.Loss = distill.DistillationLoss(cfg.kd_temperature, cfg.kd_alpha, cfg.label_smoothing)
        accuracy: keras.metrics.Metric = keras.metrics.MeanMetricWrapper(distill.hard_label_accuracy, name="acc")
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing)
        accuracy = keras.metrics.CategoricalAccuracy(name="acc")
    model.compile(optimizer=optimizer, loss=loss, metrics=[accuracy])
    return model


class ProgressBar(keras.callbacks.Callback):
    """A tqdm bar per epoch; updates sparsely when stderr is a log file."""

    def __init__(self, steps: int, epoch: int, epochs: int) -> None:
        super().__init__()
        self.steps, self.label = steps, f"epoch {epoch + 1}/{epochs}"

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        interval = 0.5 if sys.stderr.isatty() else 60
        self.bar = tqdm(total=self.steps, desc=self.label, unit="batch", mininterval=interval)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.bar.update(1)
        if logs and batch % 20 == 0:
            self.bar.set_postfix(loss=f"{logs['loss']:.3f}", acc=f"{logs['acc']:.3f}", refresh=False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.bar.close()


def software_versions() -> dict[str, str]:
    """Versions that matter for reproducing or loading the model."""
    import cv2

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "platform": platform.platform(),
    }


def parent_summary(path: Path) -> dict[str, Any]:
    """What the card must say about a warm-start parent: version, epochs, time."""
    if not path.is_file():
        raise SystemExit(f"--init-from {path}: no such model file")
    card_path = path.parent / CARD_FILE
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    return {
        "path": str(path),
        "model_version": card.get("model_version", path.name),
        "epochs": card.get("epochs_run"),
        "training_seconds": lineage_seconds(card),
        "init_from": card.get("init_from"),
    }


def lineage(card: dict[str, Any]) -> dict[str, float]:
    """Own training seconds of a carded model and of each warm-start ancestor, by version.

    Kept per version so models that share ancestors (an ensemble of snapshots
    of one training lineage) count each ancestor's time once.
    """
    seconds = {card.get("model_version", "?"): card.get("training_seconds", 0.0)}
    parent = card.get("init_from")
    while parent:
        grandparent = parent.get("init_from") or {}
        # A parent summary's training_seconds already includes its own ancestors.
        own = parent.get("training_seconds", 0.0) - grandparent.get("training_seconds", 0.0)
        seconds[parent.get("model_version", "?")] = own
        parent = grandparent
    return seconds


def lineage_seconds(*cards: dict[str, Any]) -> float:
    """Training time of carded models including their warm-start ancestors, each counted once."""
    return sum({version: s for card in cards for version, s in lineage(card).items()}.values())


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run (or resume) the epoch loop; return the checkpoint state."""
    run_dir: Path = args.checkpoint_dir
    state = checkpoint.load_state(run_dir)
    if state and not args.resume:
        raise SystemExit(f"{run_dir} already holds a run; pass --resume or another --run-name")
    if state:
        cfg = TrainConfig(**{**state["config"], "augment": AugmentConfig(**state["config"]["augment"])})
        if args.arch and args.arch != cfg.arch:
            raise SystemExit(f"Checkpoint is a {cfg.arch!r} run; cannot resume as {args.arch!r}")
        cfg.epochs = args.epochs or cfg.epochs
        if args.precision != "auto":  # e.g. a run moved to a machine without bfloat16 units
            cfg.precision = resolve_precision(args.precision, native_bfloat16())
        if args.swa_epochs is not None and args.swa_epochs != cfg.swa_epochs:
            if state.get("swa_count"):
                raise SystemExit("This run has started averaging weights; --swa-epochs can no longer change")
            cfg.swa_epochs = args.swa_epochs
    else:
        cfg = TrainConfig(
            arch=args.arch or TrainConfig.arch,
            epochs=args.epochs or TrainConfig.epochs,
            batch_size=args.batch_size,
            peak_lr=args.lr,
            weight_decay=args.weight_decay,
            patience=args.patience,
            seed=args.seed,
            precision=resolve_precision(args.precision, native_bfloat16()),
            val_fraction=args.val_fraction,
            warmup_epochs=args.warmup_epochs,
            swa_epochs=args.swa_epochs or 0,
            teacher=str(args.teacher or ""),
            teacher_tta=not args.teacher_plain,
            kd_temperature=args.kd_temperature,
            kd_alpha=args.kd_alpha,
            augment=AugmentConfig(
                max_rotation_deg=args.max_rotation,
                max_shift_px=args.max_shift,
                erase_prob=args.erase_prob,
                degrade_prob=args.degrade_prob,
            ),
        )
        state = {
            "config": asdict(cfg),
            "epoch": 0,
            "best_val_acc": -1.0,
            "best_epoch": 0,
            "train_seconds": 0.0,
            "history": [],
            "data": str(args.data),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if args.init_from:
            state["init_from"] = parent_summary(args.init_from)
    if not 0 <= cfg.swa_epochs <= cfg.epochs:
        raise SystemExit(f"--swa-epochs must be between 0 and the {cfg.epochs} scheduled epochs")
    configure_tensorflow(args.threads, cfg.precision)

    images, labels = load_dataset(args.data, args.usage)
    train_idx, val_idx = stratified_split(labels, cfg.val_fraction, cfg.seed)
    x_train, y_train = to_network_input(images[train_idx]), labels[train_idx]
    x_val, y_val = to_network_input(images[val_idx]), labels[val_idx]
    weights = class_weights(y_train, cfg.class_weight_power)[y_train]
    steps = len(x_train) // cfg.batch_size
    soft_labels = None
    if cfg.teacher:
        soft_labels = distill.cached_soft_labels(run_dir, Path(cfg.teacher), x_train, train_idx, cfg.teacher_tta)
        agreement = float(np.mean(soft_labels.argmax(1) == y_train))
        print(f"Teacher {cfg.teacher}: agrees with {agreement:.3f} of the training labels", flush=True)
    state["config"] = asdict(cfg)
    state["split"] = {
        "train": len(train_idx),
        "val": len(val_idx),
        "seed": cfg.seed,
        "fraction": cfg.val_fraction,
        "stratified": True,
    }

    model = build_compiled_model(cfg, steps)
    if state["epoch"]:
        checkpoint.restore(run_dir, model)
        print(f"Resumed {run_dir} after epoch {state['epoch']}", flush=True)
    elif "init_from" in state:
        parent = keras.models.load_model(state["init_from"]["path"], compile=False)
        model.set_weights(parent.get_weights())
        print(f"Warm start from {state['init_from']['model_version']}", flush=True)
    log_path = run_dir / "metrics.csv"
    run_dir.mkdir(parents=True, exist_ok=True)
    average = swa.WeightAverage.load(run_dir, state.get("swa_count", 0))

    for epoch in range(state["epoch"], cfg.epochs):
        if cfg.patience and epoch - state["best_epoch"] >= cfg.patience:
            print(f"Early stop: no val improvement for {cfg.patience} epochs", flush=True)
            break
        start = time.monotonic()
        history = model.fit(
            make_dataset(x_train, y_train, weights, cfg, epoch, soft_labels),
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=False,  # make_dataset already shuffles, reproducibly
            verbose=0,
            callbacks=[ProgressBar(steps, epoch, cfg.epochs)],
        ).history
        probs = predict_proba(keras_predictor(model), x_val)
        val = compute_metrics(y_val, probs.argmax(1), "")
        val_loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(y_val)), y_val], 1e-7, 1))))
        seconds = time.monotonic() - start
        row = {
            "epoch": epoch + 1,
            "lr": float(model.optimizer.learning_rate),
            "loss": history["loss"][-1],
            "acc": history["acc"][-1],
            "val_loss": val_loss,
            "val_acc": val["accuracy"],
            "val_macro_f1": val["macro_f1"],
            "seconds": round(seconds, 1),
        }
        is_best = val["accuracy"] > state["best_val_acc"]
        if is_best:
            state["best_val_acc"], state["best_epoch"] = val["accuracy"], epoch + 1
        state["epoch"] = epoch + 1
        state["train_seconds"] += seconds
        state["history"].append(row)
        if cfg.swa_epochs and epoch >= cfg.epochs - cfg.swa_epochs:
            average.update(model)
            average.save(run_dir)  # before the state that points at it
            state["swa_count"] = average.count
            state.setdefault("swa_first_epoch", epoch + 1)
        checkpoint.save(run_dir, model, state, is_best=is_best)
        average.prune(run_dir)
        with log_path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if handle.tell() == 0:
                writer.writeheader()
            writer.writerow(row)
        print(
            " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
            + (" *best*" if is_best else ""),
            flush=True,
        )
    return state


def ship(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    """Publish the best epoch's model with the training part of its card."""
    cfg = TrainConfig(**{**state["config"], "augment": AugmentConfig(**state["config"]["augment"])})
    keras.mixed_precision.set_global_policy("float32")  # shipped model is always float32
    model = build_model(cfg.arch)
    model.load_weights(args.checkpoint_dir / checkpoint.BEST_WEIGHTS)
    card: dict[str, Any] = {
        "architecture": cfg.arch,
        "epochs_scheduled": cfg.epochs,
        "epochs_run": state["epoch"],
        "best_epoch": state["best_epoch"],
        "hyperparameters": asdict(cfg),
        "optimizer": "AdamW, linear warm-up then cosine decay to 1% of peak",
        "history": state["history"],
        "training_seconds": round(state["train_seconds"], 1),
        **({"init_from": state["init_from"]} if "init_from" in state else {}),
    }
    if cfg.teacher:
        card["distillation"] = {
            "teacher": parent_summary(Path(cfg.teacher))["model_version"],
            "teacher_tta": cfg.teacher_tta,
            "temperature": cfg.kd_temperature,
            "alpha": cfg.kd_alpha,
            "soft_labels_on": "training split only (cached, computed once from clean faces)",
        }
    tag = f"e{state['best_epoch']}"
    if state.get("swa_count"):
        averaged, card["swa"] = averaged_model(args, cfg, state)
        if card["swa"]["shipped"]:
            model, tag = averaged, f"swa{state['swa_first_epoch']}-{state['epoch']}"
    version = f"{args.checkpoint_dir.name}-{tag}-{datetime.now(UTC):%Y%m%d}"
    return publish(model, args, version=version, split=state["split"], card=card)


def averaged_model(args: argparse.Namespace, cfg: TrainConfig, state: dict[str, Any]) -> tuple[keras.Model, dict]:
    """The run's weight average with BatchNorm re-estimated, and how it compares on the validation split."""
    images, labels = load_dataset(args.data, args.usage)
    train_idx, val_idx = stratified_split(labels, cfg.val_fraction, cfg.seed)
    model = build_model(cfg.arch)
    swa.WeightAverage.load(args.checkpoint_dir, state["swa_count"]).apply_to(model)
    # A seeded subset: exact statistics over all faces cost ~5 forward passes of the training set.
    subset = np.random.default_rng(cfg.seed).permutation(train_idx)[:BATCHNORM_FACES]
    swa.recompute_batchnorm(model, to_network_input(images[np.sort(subset)]))
    probs = predict_proba(keras_predictor(model), to_network_input(images[val_idx]))
    accuracy = float(np.mean(probs.argmax(1) == labels[val_idx]))
    summary = {
        "epochs": [state["swa_first_epoch"], state["epoch"]],
        "snapshots": state["swa_count"],
        "batchnorm_faces": int(min(BATCHNORM_FACES, len(train_idx))),
        "val_accuracy": accuracy,
        "best_epoch_val_accuracy": state["best_val_acc"],
        "shipped": accuracy > state["best_val_acc"],
    }
    print(f"Weight average of epochs {summary['epochs']}: val accuracy {accuracy:.4f}", flush=True)
    return model, summary


def publish(
    model: keras.Model, args: argparse.Namespace, *, version: str, split: dict[str, Any], card: dict[str, Any]
) -> dict[str, Any]:
    """Save ``model`` to ``args.out`` with its card, reports and LiteRT export.

    Shared by training and ensembling, so every shipped model is measured the
    same way: the validation split it was selected on, then ``--test-data``
    once, plain and with TTA.
    """
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / MODEL_FILE)

    images, labels = load_dataset(args.data, args.usage)
    train_idx, val_idx = stratified_split(labels, split["fraction"], split["seed"])
    x_val, y_val = to_network_input(images[val_idx]), labels[val_idx]
    representative = to_network_input(images[np.random.default_rng(0).permutation(train_idx)[:REPRESENTATIVE_FACES]])
    exports = release.choose_export(model, out / TFLITE_FILE, x_val, y_val, representative, args.threads)
    # Reports measure the LiteRT file the worker serves (and run several times faster than Keras here).
    predict = tflite_predictor(out / TFLITE_FILE, num_threads=args.threads)
    val_probs = predict(x_val)
    val_metrics = {
        "plain": compute_metrics(y_val, val_probs.argmax(1), version),
        "tta": compute_metrics(y_val, predict_proba(predict, x_val, True).argmax(1), version + TTA_SUFFIX),
    }
    card = {
        "model_version": version,
        **card,
        "parameters": int(model.count_params()),
        "input": {
            "shape": [48, 48, 1],
            "dtype": "float32",
            "scale": "gray/255",
            "face_padding": FACE_PADDING,
            "detector": "MediaPipe BlazeFace short-range (default) or OpenCV's Haar cascade, box padded",
        },
        "classes": list(CLASSES),
        "files": {"keras": MODEL_FILE, "tflite": TFLITE_FILE},
        "reports_measured_on": "the LiteRT export (emotion.tflite), as the worker serves it",
        "data": {"train": args.data.name, "usage": args.usage, "n": len(labels), "split": split},
        "val_metrics": {k: _summary(v) for k, v in val_metrics.items()},
        "training_machine": {"cpus": os.cpu_count(), "gpus": len(tf.config.list_physical_devices("GPU"))},
        "tta": TTA_DESCRIPTION,
        "trained_until": datetime.now(UTC).isoformat(timespec="seconds"),
        "software": software_versions(),
    }
    if args.test_data:
        x_test_u8, y_test = load_dataset(args.test_data, args.test_usage)
        x_test = to_network_input(x_test_u8)
        reports = {
            name: compute_metrics(y_test, predict_proba(predict, x_test, tta).argmax(1), version + suffix)
            for name, tta, suffix in (("plain", False, ""), ("tta", True, TTA_SUFFIX))
        }
        shipped = reports["tta" if args.tta else "plain"]
        write_report(shipped, out / TEST_JSON, out / TEST_PNG)
        if args.benchmark_json:
            args.benchmark_json.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / TEST_JSON, args.benchmark_json)
        card["test_data"] = {
            "file": args.test_data.name,
            "usage": args.test_usage,
            "n": len(y_test),
            "report": TEST_JSON,
            "report_uses_tta": args.tta,
        }
        card["test_metrics"] = {k: _summary(v) for k, v in reports.items()}
    card["exports"] = exports
    card["tflite_agreement"] = exports["variants"][exports["served"]]["agreement"]
    card["calibration"] = calibrate.calibrate(val_probs, y_val)
    card["quality"] = release.quality_threshold(predict, images[val_idx], y_val)
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    return card


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "n": report["n"],
        "per_class_f1": {k: v["f1"] for k, v in report["per_class"].items()},
    }


def add_arguments(p: argparse.ArgumentParser, default_out: Path = DEFAULT_OUT) -> None:
    """Declare the options (shared with the ``train_emotion_model`` command)."""
    defaults = TrainConfig()
    p.add_argument("--data", required=True, type=Path, help="training set: folder, .csv or .npz")
    p.add_argument("--usage", help="Usage filter when --data is fer2013.csv (e.g. Training)")
    p.add_argument("--epochs", type=int, help=f"total scheduled epochs (default {defaults.epochs}, or the run's)")
    p.add_argument("--resume", action="store_true", help="continue the run in --checkpoint-dir")
    p.add_argument("--init-from", type=Path, help="warm-start a new run from this .keras model's weights")
    p.add_argument("--arch", help=f"architecture (default {defaults.arch})")
    p.add_argument("--run-name", help="checkpoint sub-directory name (default: the arch)")
    p.add_argument("--checkpoint-dir", type=Path, help="default ~/.cache/moodshop/emotion-train/RUN")
    p.add_argument("--out", type=Path, default=default_out, help="where the shipped model goes")
    p.add_argument("--test-data", type=Path, help="held-out test set evaluated once at the end")
    p.add_argument("--test-usage", help="Usage filter when --test-data is fer2013.csv")
    p.add_argument("--tta", action="store_true", help="report test metrics with TTA")
    p.add_argument("--benchmark-json", type=Path, help="extra copy of the test report")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.peak_lr, help="peak learning rate")
    p.add_argument("--warmup-epochs", type=int, default=defaults.warmup_epochs)
    p.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    p.add_argument("--patience", type=int, default=defaults.patience, help="0 disables early stop")
    p.add_argument("--val-fraction", type=float, default=defaults.val_fraction)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="auto: bfloat16 where the hardware has it, else float32 (a resumed run keeps its own)",
    )
    p.add_argument("--swa-epochs", type=int, help="average the weights of the schedule's last N epochs (default 0)")
    p.add_argument("--teacher", type=Path, help="distil from this .keras model (soft labels on the training faces)")
    p.add_argument("--teacher-plain", action="store_true", help="teacher without test-time augmentation")
    p.add_argument("--kd-temperature", type=float, default=defaults.kd_temperature)
    p.add_argument("--kd-alpha", type=float, default=defaults.kd_alpha, help="weight of the soft-target loss")
    aug = defaults.augment
    p.add_argument("--max-rotation", type=float, default=aug.max_rotation_deg, help="degrees")
    p.add_argument("--max-shift", type=float, default=aug.max_shift_px, help="pixels")
    p.add_argument("--erase-prob", type=float, default=aug.erase_prob, help="random-erasing probability")
    p.add_argument(
        "--degrade-prob", type=float, default=aug.degrade_prob, help="share of faces given webcam conditions"
    )
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="TF intra-op threads")
    p.add_argument("--no-ship", action="store_true", help="stop after training")


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    """Train, then ship unless ``--no-ship``; return the model card if shipped."""
    if args.checkpoint_dir is None:
        run_name = args.run_name or args.arch or TrainConfig.arch
        args.checkpoint_dir = checkpoint.default_checkpoint_dir(run_name)
    state = train(args)
    if args.no_ship:
        return None
    card = ship(args, state)
    print(json.dumps({k: card[k] for k in ("model_version", "val_metrics")}, indent=2))
    if "test_metrics" in card:
        print(json.dumps(card["test_metrics"], indent=2))
    return card


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()

"""The served model's report for staff: its card and PublicTest report, shaped for the admin page.

The card (``model_card.json``) and the report beside it (``eval_publictest.json``) are written
by the training and release commands (``emotion.ml``); this module only reads them. Cards
differ by age: blocks a newer release adds (exports, calibration, quality, distillation,
speed, detector) are optional, and a block that is malformed is reported as such while the
rest of the page still renders.
"""

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .charts import COLOURS, LineChart, line_chart

CARD_FILE = "model_card.json"
EVAL_FILE = "eval_publictest.json"
HISTORY_FIELDS = ("epoch", "lr", "loss", "acc", "val_loss", "val_acc", "val_macro_f1", "seconds")
TRAIN_COLOUR, VAL_COLOUR, F1_COLOUR, LR_COLOUR = "#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f"


class CardUnavailable(Exception):
    """The card is missing or unreadable; the message says which and is safe to show to staff."""


@lru_cache(maxsize=8)
def _parse(path: Path, mtime_ns: int, size: int) -> Any:
    """The file's JSON, parsed once per version of the file (the key changes when it is rewritten)."""
    return json.loads(path.read_text(encoding="utf-8"))


def read_json(path: Path) -> Any:
    """A JSON file of the model directory, cached per file mtime; CardUnavailable when missing or corrupt."""
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise CardUnavailable(f"There is no {path.name} in {path.parent}.") from exc
    except OSError as exc:
        raise CardUnavailable(f"{path.name} in {path.parent} cannot be read ({exc.strerror}).") from exc
    try:
        return _parse(path, stat.st_mtime_ns, stat.st_size)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CardUnavailable(f"{path.name} in {path.parent} is not valid JSON ({exc}).") from exc


def load_card(model_dir: Path) -> dict[str, Any]:
    card = read_json(Path(model_dir) / CARD_FILE)
    if not isinstance(card, dict):
        raise CardUnavailable(f"{CARD_FILE} in {model_dir} is not a JSON object.")
    return card


# --- Shapes the template draws -------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    label: str
    value: str


@dataclass(frozen=True)
class Ancestor:
    model_version: str
    epochs: str
    training_seconds: str
    path: str


@dataclass(frozen=True)
class Cell:
    count: int
    share: float  # of the row (the true class): the diagonal is the recall
    x: int
    y: int
    cx: int  # centre, for the count
    cy: int
    opacity: str
    title: str
    dark: bool


@dataclass(frozen=True)
class Confusion:
    classes: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    labels: tuple[tuple[str, int], ...]  # each class with the centre of its row and column
    cell: int
    size: int


@dataclass
class ModelReport:
    model_dir: str
    error: str = ""
    version: str = ""
    overview: list[Figure] = field(default_factory=list)
    lineage: list[Ancestor] = field(default_factory=list)
    charts: list[LineChart] = field(default_factory=list)
    history: list[list[str]] = field(default_factory=list)
    history_fields: tuple[str, ...] = HISTORY_FIELDS
    metrics: list[list[str]] = field(default_factory=list)  # split, mode, accuracy, macro F1, n
    per_class_f1: list[list[str]] = field(default_factory=list)  # class, then one F1 per metrics row
    metric_columns: list[str] = field(default_factory=list)
    publictest: list[Figure] = field(default_factory=list)
    per_class: list[list[str]] = field(default_factory=list)  # class, precision, recall, F1, support
    confusion: Confusion | None = None
    agreement: list[Figure] = field(default_factory=list)
    exports_served: str = ""
    exports: list[list[str]] = field(default_factory=list)  # variant, val accuracy, ms, size
    exports_notes: list[Figure] = field(default_factory=list)
    calibration: list[Figure] = field(default_factory=list)
    quality: list[Figure] = field(default_factory=list)
    quality_rows: list[list[str]] = field(default_factory=list)  # condition, kept, acc all, acc kept
    distillation: list[Figure] = field(default_factory=list)
    speed: list[Figure] = field(default_factory=list)
    detector: list[Figure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # blocks present but unreadable
    colours: list[tuple[str, str]] = field(default_factory=list)


# --- Formatting --------------------------------------------------------------------------------


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2%}"


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    return str(value)


def _bytes(value: Any) -> str:
    return "—" if value is None else f"{int(value) / 1_048_576:.2f} MiB ({int(value):,} bytes)"


def _seconds(value: Any) -> str:
    if value is None:
        return "—"
    seconds = float(value)
    return f"{seconds:,.0f} s ({seconds / 3600:.1f} h)" if seconds >= 60 else f"{seconds:.3g} s"


def _label(key: str) -> str:
    return key.replace("_", " ")


def flatten(figures: Any, prefix: str = "") -> list[Figure]:
    """Any JSON value as labelled figures (nested keys joined with ' · '), for blocks of free shape."""
    if isinstance(figures, dict):
        return [
            figure
            for key, value in figures.items()
            for figure in flatten(value, f"{prefix} · {_label(str(key))}" if prefix else _label(str(key)))
        ]
    if isinstance(figures, list) and any(isinstance(v, dict | list) for v in figures):
        return [figure for i, value in enumerate(figures) for figure in flatten(value, f"{prefix} {i + 1}".strip())]
    if isinstance(figures, list):
        return [Figure(prefix or "values", ", ".join(_num(v) for v in figures))]
    return [Figure(prefix or "value", _num(figures))]


# --- Blocks ------------------------------------------------------------------------------------


def _overview(report: ModelReport, card: dict[str, Any]) -> None:
    report.version = str(card.get("model_version", "unknown"))
    rows = [
        ("architecture", card.get("architecture")),
        ("parameters", _num(card["parameters"]) if "parameters" in card else None),
        ("epochs run / scheduled", f"{card.get('epochs_run', '—')} / {card.get('epochs_scheduled', '—')}"),
        ("best epoch", card.get("best_epoch")),
        ("training time", _seconds(card["training_seconds"]) if "training_seconds" in card else None),
        ("trained until", card.get("trained_until")),
        ("optimizer", card.get("optimizer")),
        ("test-time augmentation", card.get("tta")),
    ]
    if isinstance(card.get("training_machine"), dict):
        rows.append(("training machine", ", ".join(f"{k} {v}" for k, v in card["training_machine"].items())))
    if isinstance(card.get("swa"), dict):
        swa = card["swa"]
        rows.append(
            (
                "weight averaging",
                f"epochs {swa.get('epochs')}, {swa.get('snapshots')} snapshots, validation "
                f"{_pct(swa.get('val_accuracy'))} vs best epoch {_pct(swa.get('best_epoch_val_accuracy'))}"
                f"{' (shipped)' if swa.get('shipped') else ''}",
            )
        )
    report.overview = [Figure(label, str(value)) for label, value in rows if value is not None]


def _lineage(report: ModelReport, card: dict[str, Any]) -> None:
    """The chain of warm starts, the served model first, each with its own epochs and time."""
    parent, seen = card.get("init_from"), 0
    while isinstance(parent, dict) and seen < 50:  # a bound: a card is data, not trusted to end
        report.lineage.append(
            Ancestor(
                str(parent.get("model_version", "unknown")),
                _num(parent.get("epochs")),
                _seconds(parent.get("training_seconds")),
                str(parent.get("path", "")),
            )
        )
        parent, seen = parent.get("init_from"), seen + 1


def _history(report: ModelReport, card: dict[str, Any]) -> None:
    rows = [row for row in card["history"] if isinstance(row, dict)]
    if not rows:
        return

    def column(name: str) -> list[float | None]:
        return [None if row.get(name) is None else float(row[name]) for row in rows]

    epochs = [float(row.get("epoch", i + 1)) for i, row in enumerate(rows)]
    charts = [
        line_chart(
            "Loss", epochs, {"train": (TRAIN_COLOUR, column("loss")), "validation": (VAL_COLOUR, column("val_loss"))}
        ),
        line_chart(
            "Accuracy and macro F1",
            epochs,
            {
                "train accuracy": (TRAIN_COLOUR, column("acc")),
                "validation accuracy": (VAL_COLOUR, column("val_acc")),
                "validation macro F1": (F1_COLOUR, column("val_macro_f1")),
            },
        ),
        line_chart("Learning rate", epochs, {"learning rate": (LR_COLOUR, column("lr"))}),
        line_chart("Seconds per epoch", epochs, {"seconds": (LR_COLOUR, column("seconds"))}),
    ]
    report.charts = [chart for chart in charts if chart is not None]
    formats: dict[str, Callable[[Any], str]] = {"epoch": _num, "lr": lambda v: f"{float(v):.3g}", "seconds": _num}
    report.history = [
        [
            formats.get(name, lambda v: f"{float(v):.4f}")(row[name]) if row.get(name) is not None else "—"
            for name in HISTORY_FIELDS
        ]
        for row in rows
    ]


def _metrics(report: ModelReport, card: dict[str, Any]) -> None:
    """Validation and test figures, each with and without test-time augmentation, side by side."""
    columns = []
    for key, split in (("val_metrics", "validation"), ("test_metrics", "PublicTest")):
        block = card.get(key)
        if not isinstance(block, dict):
            continue
        for mode, label in (("plain", "served (no augmentation)"), ("tta", "test-time augmentation")):
            figures = block.get(mode)
            if not isinstance(figures, dict):
                continue
            report.metrics.append(
                [split, label, _pct(figures.get("accuracy")), _pct(figures.get("macro_f1")), _num(figures.get("n"))]
            )
            columns.append((f"{split}, {'TTA' if mode == 'tta' else 'plain'}", figures.get("per_class_f1") or {}))
    report.metric_columns = [name for name, _ in columns]
    classes = list(card.get("classes") or COLOURS)
    report.per_class_f1 = [[name, *(_pct(f1s.get(name)) for _, f1s in columns)] for name in classes]


def _publictest(report: ModelReport, data: dict[str, Any]) -> None:
    report.publictest = [
        Figure("model", str(data.get("model_version", "—"))),
        Figure("accuracy", _pct(data.get("accuracy"))),
        Figure("macro F1", _pct(data.get("macro_f1"))),
        Figure("faces", _num(data.get("n"))),
    ]
    per_class = data.get("per_class") or {}
    report.per_class = [
        [name, _pct(m.get("precision")), _pct(m.get("recall")), _pct(m.get("f1")), _num(m.get("support"))]
        for name, m in per_class.items()
    ]
    classes, matrix = data.get("classes") or list(per_class), data.get("confusion")
    if matrix:
        report.confusion = confusion(list(classes), matrix)


def confusion(classes: list[str], matrix: list[list[int]], cell: int = 52) -> Confusion:
    """The confusion matrix as heat-map cells, shaded by the share of the true class's faces."""
    if len(matrix) != len(classes) or any(len(row) != len(classes) for row in matrix):
        raise ValueError("the confusion matrix does not match the classes")
    rows = []
    for i, row in enumerate(matrix):
        total = sum(int(v) for v in row) or 1
        cells = []
        for j, count in enumerate(row):
            share = int(count) / total
            title = f"true {classes[i]}, predicted {classes[j]}: {int(count)} ({share:.1%} of {classes[i]})"
            x, y = j * cell, i * cell
            opacity = f"{0.06 + 0.94 * share:.3f}"
            cells.append(Cell(int(count), share, x, y, x + cell // 2, y + cell // 2, opacity, title, share > 0.5))
        rows.append(tuple(cells))
    labels = tuple((name, i * cell + cell // 2) for i, name in enumerate(classes))
    return Confusion(tuple(classes), tuple(rows), labels, cell, cell * len(classes))


def _agreement(report: ModelReport, card: dict[str, Any]) -> None:
    block = card["tflite_agreement"]
    report.agreement = [
        Figure("top-1 agreement with Keras", _pct(block.get("top1_agreement"))),
        Figure("largest probability difference", _num(block.get("max_abs_prob_diff"))),
        Figure("faces compared", _num(block.get("n"))),
        Figure("file size", _bytes(block.get("size_bytes"))),
        Figure("quantisation", str(block.get("quantization", "—"))),
    ]


def _exports(report: ModelReport, card: dict[str, Any]) -> None:
    block = card["exports"]
    report.exports_served = str(block.get("served", "—"))
    report.exports = [
        [
            name + (" (served)" if name == block.get("served") else ""),
            _pct(v.get("val_accuracy")),
            _num(v.get("ms_per_face_batch1_one_thread")),
            _bytes(v.get("size_bytes")),
        ]
        for name, v in (block.get("variants") or {}).items()
    ]
    if block.get("rule"):
        report.exports_notes = [Figure("rule", str(block["rule"]))]


def _calibration(report: ModelReport, card: dict[str, Any]) -> None:
    block = dict(card["calibration"])
    known = [
        Figure("temperature", _num(block.pop("temperature", None))),
        Figure("expected calibration error before", _num(block.pop("ece_before", None))),
        Figure("expected calibration error after", _num(block.pop("ece_after", None))),
        Figure("reactions' confidence cut", _num(block.pop("min_confidence", None))),
    ]
    report.calibration = known + flatten(block)


def _quality(report: ModelReport, card: dict[str, Any]) -> None:
    block = card["quality"]
    report.quality = [Figure("threshold", _num(block.get("threshold")))]
    report.quality += [Figure(_label(k), _num(v)) for k, v in block.items() if k not in ("threshold", "validation")]
    report.quality_rows = [
        [_label(name), _pct(v.get("kept_share")), _pct(v.get("accuracy_all")), _pct(v.get("accuracy_kept"))]
        for name, v in (block.get("validation") or {}).items()
    ]


def _distillation(report: ModelReport, card: dict[str, Any]) -> None:
    report.distillation = flatten(card["distillation"])


def _speed(report: ModelReport, card: dict[str, Any]) -> None:
    report.speed = flatten(card["speed"])


def _detector(report: ModelReport, card: dict[str, Any]) -> None:
    detector = card.get("detector")
    if detector is not None:
        report.detector = flatten(detector) if isinstance(detector, dict) else [Figure("detector", _num(detector))]
    elif isinstance(card.get("input"), dict) and card["input"].get("detector"):
        report.detector = [Figure("detector", str(card["input"]["detector"]))]


# Optional blocks: drawn when the card has them; a malformed one is named in ``problems``.
BLOCKS: tuple[tuple[str, Callable[[ModelReport, dict[str, Any]], None]], ...] = (
    ("history", _history),
    ("tflite_agreement", _agreement),
    ("exports", _exports),
    ("calibration", _calibration),
    ("quality", _quality),
    ("distillation", _distillation),
    ("speed", _speed),
)


def model_report(model_dir: Path) -> ModelReport:
    """Everything the report page shows about the model in ``model_dir``; ``error`` set when there is no card."""
    report = ModelReport(model_dir=str(model_dir), colours=list(COLOURS.items()))
    try:
        card = load_card(model_dir)
    except CardUnavailable as exc:
        report.error = str(exc)
        return report
    always = (("overview", _overview), ("init_from", _lineage), ("val_metrics/test_metrics", _metrics))
    for key, build in (*always, *((k, b) for k, b in BLOCKS if card.get(k) is not None), ("detector", _detector)):
        try:
            build(report, card)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            report.problems.append(f"The card's {key} block is malformed ({type(exc).__name__}: {exc}).")
    try:
        evaluation = read_json(Path(model_dir) / EVAL_FILE)
        _publictest(report, evaluation)
    except CardUnavailable as exc:
        report.problems.append(str(exc))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        report.problems.append(f"{EVAL_FILE} is malformed ({type(exc).__name__}: {exc}).")
    return report

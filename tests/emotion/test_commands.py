"""The Django management commands are thin wrappers over emotion.ml (no database needed)."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from emotion.management.commands.train_emotion_model import Command as TrainCommand


def test_train_command_ships_to_the_configured_model_dir() -> None:
    parser = TrainCommand().create_parser("manage.py", "train_emotion_model")
    options = parser.parse_args(["--data", "faces.npz", "--epochs", "3"])
    assert options.out == Path(settings.EMOTION_MODEL_DIR) and options.epochs == 3


def test_evaluate_command_writes_the_report(tmp_path: Path, tiny_npz: Path, random_model_dir: Path) -> None:
    report_path = tmp_path / "eval.json"
    call_command(
        "evaluate_emotion_model",
        "--model", str(random_model_dir / "emotion.keras"),
        "--data", str(tiny_npz),
        "--json", str(report_path),
    )  # fmt: skip
    assert json.loads(report_path.read_text())["n"] == 70

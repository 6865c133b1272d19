"""The withdrawal race on SQLite, where ``select_for_update`` does nothing.

A worker has checked consent and is about to store a frame when the shopper withdraws.
On PostgreSQL the consent row lock orders the two; on SQLite every transaction now takes
the write lock when it begins (settings: ``transaction_mode`` IMMEDIATE), so the
withdrawal waits for the frame and then erases it. Before, the two interleaved and one of
them failed half-way with "database is locked". Real threads on a real database file.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_withdrawal_during_a_frame_store_waits_for_it_then_erases_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env |= {
        "DJANGO_SETTINGS_MODULE": "moodshop.settings",
        "SECRET_KEY": "sqlite-race-test-key-0123456789abcdefghijklmnopqrstuvwxyz0123",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "EMBEDDED_BROKER_DIR": str(tmp_path / "broker"),
        "LOG_LEVEL": "ERROR",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.capture.sqlite_race"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"errors": {}, "observations": 0, "consents": 0}

"""The README's management commands run as written: from the project root, with the `.env`
that scripts/demo.sh writes and no other setting (each command's ``--help``)."""

import os
import re
import subprocess

import pytest

from tests.workers import ROOT

# Settings a test run exports that a shell following the README would not have.
NOT_IN_A_USERS_SHELL = ("DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS")
NOT_IN_A_USERS_SHELL += ("SECURE_", "SESSION_", "CSRF_", "STATICFILES_", "ENV_FILE")


def table_commands() -> list[str]:
    """The command names in the README's "Management commands" table, written as they run."""
    section = (ROOT / "README.md").read_text().split("## Management commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `\.venv/bin/python manage\.py (\w+)", section, re.MULTILINE)


def test_the_table_lists_the_commands_as_they_run():
    assert {"seed_demo", "seed_reactions", "train_recommender", "evaluate_recommender"} <= set(table_commands())


@pytest.fixture(scope="module")
def demo_env_file(tmp_path_factory) -> str:
    """The `.env` the demo writes (the same script), somewhere other than the developer's own."""
    path = tmp_path_factory.mktemp("demo") / ".env"
    subprocess.run(["bash", "scripts/write_env.sh", str(path)], cwd=ROOT, check=True, capture_output=True)
    assert "DEBUG=true" in path.read_text()
    return str(path)


@pytest.mark.parametrize("name", table_commands())
def test_command_runs_as_documented(name, demo_env_file):
    env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_IN_A_USERS_SHELL)}
    env["ENV_FILE"] = demo_env_file  # stands for the project root's .env
    result = subprocess.run(
        [".venv/bin/python", "manage.py", name, "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"manage.py {name}" in result.stdout

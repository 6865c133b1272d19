"""Celery application, configured from Django settings (the ``CELERY_`` namespace)."""

import os
import tempfile
from pathlib import Path

from celery import Celery
from celery.signals import task_prerun, worker_shutdown

from moodshop import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "moodshop.settings")

app = Celery("moodshop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _embedded_broker_folder(app: Celery) -> Path | None:
    options = app.conf.broker_transport_options or {}
    return Path(options["data_folder_in"]).parent if "data_folder_in" in options else None


@app.on_after_configure.connect
def _prepare_embedded_broker(sender: Celery, **kwargs: object) -> None:
    """The embedded (filesystem) broker and result backend expect their folders to exist.

    The broker's folder is made private (0700, this user's) before anything is queued.
    """
    folder = _embedded_broker_folder(sender)
    if folder is not None:
        broker.prepare(folder)
        for sub in ("queue", "control", "tmp"):
            (folder / sub).mkdir(mode=0o700, exist_ok=True)
        # kombu moves each consumed message through tempfile.gettempdir() before reading it;
        # keep that beside the queue (in /dev/shm) so camera frames never land on a disk.
        tempfile.tempdir = str(folder / "tmp")
    backend = sender.conf.result_backend or ""
    if backend.startswith("file://"):
        Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)


@worker_shutdown.connect
def _empty_embedded_broker(sender: object = None, **kwargs: object) -> None:
    """A stopping worker leaves no queued frame behind in the embedded broker's folder."""
    folder = _embedded_broker_folder(app)
    if folder is not None and folder.is_dir():
        broker.empty(folder)


@task_prerun.connect
def _drop_unusable_db_connections(task: object = None, **kwargs: object) -> None:
    """Django's per-request connection hygiene, per task.

    With ``CELERY_DB_REUSE_MAX`` the fix-up keeps connections between tasks; one that broke
    (PostgreSQL restarted: the task fails and is retried) or outlived ``CONN_MAX_AGE`` must
    not be handed to the next task, so it is closed here and the task opens a fresh one.
    Eager calls run inside their caller's transaction and are left alone, as Celery's own
    fix-up does.
    """
    from django.db import connections

    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()

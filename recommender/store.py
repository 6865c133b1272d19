"""Versioned model artefacts on disk, and the copies each web or worker process serves from.

Several named models can be published side by side (the selected engine as ``default``,
others for experiments): ``default`` lives in ``RECOMMENDER_MODEL_DIR`` itself, every other
name in a sub-folder of that name. Training writes ``model-<version>.npz`` (the engine's
arrays, id maps, metrics), a ``model-<version>.json`` copy of its metrics for people, then
atomically repoints that folder's ``current.json``. Processes check the pointer at most
every ``RECOMMENDER_RELOAD_SECONDS`` and load a newer version when it appears, so no
restart is needed after a retrain. A missing, unreadable or stale model makes
``current_model()`` return ``None`` with a logged warning: callers fall back to popularity
instead of failing the request.
"""

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from recommender.ml.engines import Artefact, Engine, load_artefact, save_artefact
from recommender.ml.matrix import IdIndex
from shop.models import Product

logger = logging.getLogger(__name__)

POINTER = "current.json"
DEFAULT = "default"
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")


def model_dir(directory: Path, name: str = DEFAULT) -> Path:
    """Where the versions of the model called ``name`` live."""
    if name == DEFAULT:
        return directory
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid model name {name!r}")
    return directory / name


@dataclass(frozen=True)
class ServingModel:
    """A loaded artefact plus what serving derives from the catalog once per load."""

    version: str
    artefact: Artefact
    product_ids: NDArray[np.int64]  # product pk per item (``items.ids`` copies on every access)
    item_category: NDArray[np.int64]  # dense category code per item, for the affect term
    available: NDArray[np.bool_]  # items still active in the catalog when loaded
    strength: float  # blend: confidence strength of reactions
    weight: float  # blend: re-ranking weight of the affect term

    @property
    def engine(self) -> Engine:
        return self.artefact.engine

    @property
    def items(self) -> IdIndex:
        return self.artefact.items

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.artefact.created_at)


def new_version() -> str:
    """Sortable, unique enough for hourly training: UTC timestamp to the microsecond."""
    return timezone.now().strftime("%Y%m%dT%H%M%S%fZ")


def publish(
    directory: Path,
    engine: Engine,
    users: IdIndex,
    items: IdIndex,
    metrics: dict[str, Any],
    keep: int = 3,
    name: str = DEFAULT,
) -> str:
    """Write a new version of model ``name`` and point its ``current.json`` at it; keep ``keep`` versions.

    Files are written under temporary names and renamed, so a process never reads half a model.
    """
    directory = model_dir(directory, name)
    directory.mkdir(parents=True, exist_ok=True)
    version = new_version()
    artefact = directory / f"model-{version}.npz"
    partial = directory / f".model-{version}.npz.partial"
    save_artefact(partial, engine, users, items, metrics)
    os.replace(partial, artefact)
    (directory / f"model-{version}.json").write_text(
        json.dumps({"version": version, "name": name, **metrics}, indent=2) + "\n"
    )
    _write_atomically(directory / POINTER, json.dumps({"version": version, "file": artefact.name}))
    _prune(directory, keep)
    return version


def current_metrics(directory: Path, name: str = DEFAULT) -> dict[str, Any] | None:
    """The metrics of the version ``name``'s pointer names, or ``None`` when there is none."""
    directory = model_dir(directory, name)
    try:
        pointer = json.loads((directory / POINTER).read_text())
        return json.loads((directory / f"model-{pointer['version']}.json").read_text())
    except (OSError, ValueError, KeyError):
        return None


def published_names(directory: Path) -> list[str]:
    """Names of the models published under ``directory`` (``default`` first)."""
    names = [DEFAULT] if (directory / POINTER).exists() else []
    if directory.is_dir():
        names += sorted(p.parent.name for p in directory.glob(f"*/{POINTER}") if _NAME.fullmatch(p.parent.name))
    return names


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def _prune(directory: Path, keep: int) -> None:
    versions = sorted(directory.glob("model-*.npz"), reverse=True)
    for old in versions[max(keep, 1) :]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)


def item_categories(items: IdIndex) -> NDArray[np.int64]:
    """Dense category code per item, for the affect term's category level.

    Products deleted since training share one extra code, so they never pull real categories.
    The whole catalog is read (no ``IN`` list of every item id: SQLite caps query parameters).
    """
    category_of = dict(Product.objects.values_list("pk", "category_id"))
    codes = IdIndex()
    return np.array([codes.add(category_of.get(pk)) for pk in items.ids], dtype=np.int64)


def available_items(items: IdIndex) -> NDArray[np.bool_]:
    """Which items are active products, so ranking skips the rest before touching the database."""
    active = set(Product.objects.available().values_list("pk", flat=True))
    return np.array([pk in active for pk in items.ids], dtype=bool)


class ModelStore:
    """The process's current model, reloaded when the pointer names a newer version."""

    def __init__(self, directory: Path, check_seconds: float, max_age: timedelta, threads: int) -> None:
        self.directory = directory
        self.check_seconds = check_seconds
        self.max_age = max_age
        self.threads = threads
        self._loaded: ServingModel | None = None  # last version read from disk
        self._serving: ServingModel | None = None  # what requests get: None when unusable
        self._checked_at = -float("inf")
        self._lock = threading.Lock()
        self._problem: str | None = None  # the fallback reason last warned about

    def current(self) -> ServingModel | None:
        """The model to serve, or ``None`` (warning logged) when there is no usable one."""
        if time.monotonic() - self._checked_at >= self.check_seconds:
            with self._lock:
                self._checked_at = time.monotonic()
                self._serving = self._refresh()
        return self._serving

    def _refresh(self) -> ServingModel | None:
        try:
            pointer = json.loads((self.directory / POINTER).read_text())
            if self._loaded is None or self._loaded.version != pointer["version"]:
                self._loaded = self._load(pointer["version"], self.directory / pointer["file"])
        except FileNotFoundError:
            return self._fall_back(
                f"No recommender model in {self.directory}: serving popularity. Run train_recommender."
            )
        except (OSError, ValueError, KeyError) as exc:
            return self._fall_back(f"Recommender model in {self.directory} is unreadable ({exc}): serving popularity.")
        age = timezone.now() - self._loaded.created_at
        if age > self.max_age:
            return self._fall_back(
                f"Recommender model {self._loaded.version} is stale (created {self._loaded.created_at:%Y-%m-%d %H:%M}"
                " UTC): serving popularity until training succeeds."
            )
        if self._problem is not None:
            logger.info("Serving recommender model %s again.", self._loaded.version)
            self._problem = None
        return self._loaded

    def _fall_back(self, problem: str) -> None:
        """Warn once per distinct problem, not on every check: the fallback itself is working."""
        if problem != self._problem:
            logger.warning(problem)
            self._problem = problem

    def _load(self, version: str, path: Path) -> ServingModel:
        # BLAS threads are per process; limiting them here covers every scoring call that follows.
        threadpool_limits(self.threads, "blas")
        artefact = load_artefact(path)
        blend = artefact.metrics["blend"]
        categories, available = item_categories(artefact.items), available_items(artefact.items)
        logger.info(
            "Loaded recommender model %s: %s, %d items, %.1f MB.",
            version,
            artefact.engine.spec.label,
            len(artefact.items),
            artefact.engine.nbytes() / 2**20,
        )
        return ServingModel(
            version,
            artefact,
            np.asarray(artefact.items.ids, dtype=np.int64),
            categories,
            available,
            float(blend["strength"]),
            float(blend["weight"]),
        )


_stores: dict[str, ModelStore] = {}


def model_store(name: str = DEFAULT) -> ModelStore:
    """The process-wide store of model ``name``, rebuilt if the settings changed (tests override them)."""
    config = (
        model_dir(Path(settings.RECOMMENDER_MODEL_DIR), name),
        settings.RECOMMENDER_RELOAD_SECONDS,
        timedelta(hours=settings.RECOMMENDER_MAX_MODEL_AGE_HOURS),
        settings.RECOMMENDER_SERVE_THREADS,
    )
    store = _stores.get(name)
    if store is None or (store.directory, store.check_seconds, store.max_age, store.threads) != config:
        store = _stores[name] = ModelStore(*config)
    return store


def current_model(name: str = DEFAULT) -> ServingModel | None:
    """The model ``name`` to serve now, or ``None`` (serve popularity) when it is missing or unusable."""
    return model_store(name).current()

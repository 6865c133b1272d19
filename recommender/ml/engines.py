"""Recommendation engines behind one interface: fit, score histories, similar items, persist.

Serving, evaluation and selection only talk to ``Engine``, so any engine (or a blend of them)
can be selected, published under a name and served. The interface works on *histories*
(user × item confidence rows) rather than on trained user ids: a shopper's current row is
folded in on every request, and evaluation scores the training rows through the same call,
so what is measured offline is what is served.

Engines:

- ``ease``: EASE (Steck 2019), closed-form item-item weights ``B = I - P diag(1/diag P)``,
  ``P = (XᵀX + λI)⁻¹``. The fit needs the dense n_items² Gram matrix (memory and a Cholesky
  inversion grow with the catalogue, so selection skips EASE beyond a configured size);
  serving keeps, when ``neighbours`` is set, only the largest weights per item (a sparse
  matrix a web process can afford: 10k items × 256 weights is 20 MB, the dense one 400 MB).
- ``knn``: item-kNN, cosine similarity (with shrinkage) of item columns, ``neighbours`` kept.
- ``als`` / ``bpr``: implicit's matrix factorisations; a history is folded in with ALS's exact
  least-squares solve, or (BPR, which has none) the mean factor of the history's items.
- ``popularity``: interaction counts, the baseline and the last-resort fallback.
- ``blend``: per-user standardised scores of several fitted engines, weighted.
"""

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import lapack
from scipy.sparse import csc_matrix, csr_matrix, diags
from threadpoolctl import threadpool_limits

from recommender.ml.cf import ALSParams, BPRParams, FactorModel
from recommender.ml.matrix import IdIndex

ARTEFACT_FORMAT = 2


@dataclass(frozen=True)
class EngineSpec:
    """An engine kind and its hyper-parameters, JSON-friendly (recorded in model versions)."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    parts: tuple["EngineSpec", ...] = ()  # blend only

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "params": dict(self.params)}
        if self.parts:
            out["parts"] = [part.to_json() for part in self.parts]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "EngineSpec":
        parts = tuple(cls.from_json(part) for part in data.get("parts", ()))
        return cls(data["kind"], dict(data.get("params", {})), parts)

    @property
    def label(self) -> str:
        """Short human-readable name, e.g. ``ease(regularization=200)``."""
        inner = ", ".join(f"{key}={value}" for key, value in self.params.items())
        if self.parts:
            inner = (
                ", ".join([inner, *(part.label for part in self.parts)])
                if inner
                else ", ".join(part.label for part in self.parts)
            )
        return f"{self.kind}({inner})"


def _unit_rows(vectors: NDArray[np.floating]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-9)).astype(np.float32)


def standardise(scores: NDArray[np.floating]) -> NDArray[np.float64]:
    """Per-row z-scores, so scores of different engines (and the affect term) can be added."""
    scores = np.asarray(scores, dtype=np.float64)
    spread = scores.std(axis=1, keepdims=True)
    return (scores - scores.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)


def _as_input(user_items: csr_matrix, binary: bool) -> csr_matrix:
    """The matrix an item-item engine learns from: presence, or log-damped confidence."""
    matrix = csr_matrix(user_items, dtype=np.float32, copy=True)
    matrix.data = np.ones_like(matrix.data) if binary else np.log1p(matrix.data)
    return matrix


def gram(matrix: csr_matrix, chunk: int = 2048) -> NDArray[np.float32]:
    """Dense ``XᵀX`` computed a block of item columns at a time (bounded intermediate memory)."""
    columns = csc_matrix(matrix)
    n_items = matrix.shape[1]
    out = np.empty((n_items, n_items), dtype=np.float32)
    for start in range(0, n_items, chunk):
        block = columns[:, start : start + chunk]
        out[start : start + chunk] = (block.T @ columns).toarray()
    return out


def _mirror_upper(matrix: NDArray[np.float32], block: int = 1024) -> None:
    """Copy the upper triangle onto the lower one in place, a block of rows at a time."""
    for start in range(block, matrix.shape[0], block):
        end = start + block
        matrix[start:end, :start] = matrix[:start, start:end].T
    for start in range(0, matrix.shape[0], block):
        end = min(start + block, matrix.shape[0])
        square = matrix[start:end, start:end]
        lower = np.tril_indices(end - start, -1)
        square[lower] = square.T[lower]


def _keep_top(weights: NDArray[np.float32], neighbours: int) -> csr_matrix:
    """Sparse copy of ``weights`` keeping the ``neighbours`` largest-magnitude entries per column.

    Column j holds what each history item contributes to item j's score, so pruning per
    column bounds the work and keeps the strongest evidence for every target item.
    """
    n_items = weights.shape[0]
    if neighbours >= n_items:
        return csr_matrix(weights)
    rows = np.argpartition(-np.abs(weights), neighbours - 1, axis=0)[:neighbours]
    cols = np.broadcast_to(np.arange(n_items), rows.shape)
    values = weights[rows, cols]
    kept = csr_matrix((values.ravel(), (rows.ravel(), cols.ravel())), shape=weights.shape, dtype=np.float32)
    kept.eliminate_zeros()
    return kept


class Engine(ABC):
    """A fitted recommender over a fixed item index (``n_items`` columns)."""

    kind: ClassVar[str]

    @property
    @abstractmethod
    def spec(self) -> EngineSpec:
        """What to refit to reproduce this engine."""

    @property
    @abstractmethod
    def n_items(self) -> int: ...

    @abstractmethod
    def score_history(self, rows: csr_matrix) -> NDArray[np.float32]:
        """Scores of every item for each history row (fold-in: the rows need not be training users)."""

    def score_candidates(self, row: csr_matrix, candidates: NDArray[np.int64]) -> NDArray[np.float32]:
        """Scores of the ``candidates`` for one shopper's current history row."""
        return self.score_history(row)[0, candidates]

    @abstractmethod
    def item_similarity(self, items: NDArray[np.int64], others: NDArray[np.int64]) -> NDArray[np.float32]:
        """``(len(items), len(others))`` affinities: how much ``others[j]`` speaks for ``items[i]``."""

    def similar_items(self, item: int, n: int = 10) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The ``n`` items most similar to ``item`` (itself excluded), best first."""
        similarity = self.item_similarity(np.arange(self.n_items), np.array([item]))[:, 0].astype(np.float64)
        similarity[item] = -np.inf
        n = min(n, self.n_items - 1)
        if n <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        top = np.argpartition(-similarity, n - 1)[:n]
        top = top[np.argsort(-similarity[top], kind="stable")]
        return top.astype(np.int64), similarity[top].astype(np.float32)

    @abstractmethod
    def arrays(self) -> dict[str, NDArray[Any]]:
        """Everything needed to serve, as named arrays (saved without pickle)."""

    @classmethod
    @abstractmethod
    def restore(cls, spec: EngineSpec, arrays: Mapping[str, NDArray[Any]]) -> "Engine": ...

    def nbytes(self) -> int:
        """Memory held by the served arrays."""
        return int(sum(array.nbytes for array in self.arrays().values()))


class HistoryScorer:
    """``ranking.Scorer`` over fixed history rows: evaluation scores exactly as serving does."""

    def __init__(self, engine: Engine, rows: csr_matrix) -> None:
        self.engine = engine
        self.rows = csr_matrix(rows)

    def scores(self, userids: NDArray[np.int64]) -> NDArray[np.float32]:
        return self.engine.score_history(self.rows[userids])


class PopularityEngine(Engine):
    kind = "popularity"

    def __init__(self, counts: NDArray[np.float32]) -> None:
        self.counts = np.asarray(counts, dtype=np.float32)

    @classmethod
    def fit(cls, user_items: csr_matrix) -> "PopularityEngine":
        return cls(np.asarray((user_items > 0).sum(axis=0), dtype=np.float32).ravel())

    @property
    def spec(self) -> EngineSpec:
        return EngineSpec(self.kind)

    @property
    def n_items(self) -> int:
        return len(self.counts)

    def score_history(self, rows: csr_matrix) -> NDArray[np.float32]:
        return np.broadcast_to(self.counts, (rows.shape[0], self.n_items))

    def item_similarity(self, items: NDArray[np.int64], others: NDArray[np.int64]) -> NDArray[np.float32]:
        return np.broadcast_to(self.counts[items, None], (len(items), len(others)))

    def arrays(self) -> dict[str, NDArray[Any]]:
        return {"counts": self.counts}

    @classmethod
    def restore(cls, spec: EngineSpec, arrays: Mapping[str, NDArray[Any]]) -> "PopularityEngine":
        return cls(arrays["counts"])


@dataclass(frozen=True)
class EASEParams:
    regularization: float = 200.0
    binary: bool = True  # False: learn from log1p(confidence)
    neighbours: int | None = None  # weights kept per item for serving; None: dense


class EASEEngine(Engine):
    kind = "ease"

    def __init__(self, params: EASEParams, weights: NDArray[np.float32] | csr_matrix) -> None:
        self.params = params
        self.weights = weights

    @classmethod
    def fit(cls, user_items: csr_matrix, params: EASEParams, num_threads: int = 1) -> "EASEEngine":
        matrix = _as_input(user_items, params.binary)
        with threadpool_limits(num_threads, "blas"):
            g = gram(matrix)
            g[np.diag_indices_from(g)] += params.regularization
            # Cholesky inverse (potrf + potri): a third of LU's cost; only the upper triangle is set.
            factor, info = lapack.spotrf(g, lower=0, overwrite_a=1)
            if info != 0:
                raise np.linalg.LinAlgError(f"EASE Gram matrix not positive definite (info {info})")
            inverse, info = lapack.spotri(factor, lower=0, overwrite_c=1)
            if info != 0:
                raise np.linalg.LinAlgError(f"EASE inversion failed (info {info})")
            del g, factor
            _mirror_upper(inverse)
            inverse /= -np.diag(inverse).copy()[None, :]
            np.fill_diagonal(inverse, 0.0)
            weights = inverse
        weights = weights.astype(np.float32, copy=False)
        served = _keep_top(weights, params.neighbours) if params.neighbours else weights
        return cls(params, served)

    @property
    def spec(self) -> EngineSpec:
        return EngineSpec(self.kind, asdict(self.params))

    @property
    def n_items(self) -> int:
        return self.weights.shape[0]

    def score_history(self, rows: csr_matrix) -> NDArray[np.float32]:
        inputs = _as_input(rows, self.params.binary)
        scores = inputs @ self.weights
        return np.asarray(scores.toarray() if hasattr(scores, "toarray") else scores, dtype=np.float32)

    def item_similarity(self, items: NDArray[np.int64], others: NDArray[np.int64]) -> NDArray[np.float32]:
        block = self.weights[others][:, items]
        block = block.toarray() if hasattr(block, "toarray") else block
        return np.asarray(block, dtype=np.float32).T

    def arrays(self) -> dict[str, NDArray[Any]]:
        if isinstance(self.weights, csr_matrix):
            w = self.weights
            return {"data": w.data, "indices": w.indices, "indptr": w.indptr}
        return {"weights": self.weights}

    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.arrays().values()))

    @classmethod
    def restore(cls, spec: EngineSpec, arrays: Mapping[str, NDArray[Any]]) -> "EASEEngine":
        params = EASEParams(**spec.params)
        if "weights" in arrays:
            return cls(params, np.asarray(arrays["weights"], dtype=np.float32))
        n_items = len(arrays["indptr"]) - 1
        weights = csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n_items, n_items))
        return cls(params, weights)


@dataclass(frozen=True)
class KNNParams:
    neighbours: int = 100
    shrinkage: float = 10.0  # damps similarities resting on few co-occurrences
    binary: bool = True


class KNNEngine(Engine):
    """Item-kNN over the shared Gram matrix. Not scikit-learn's ``NearestNeighbors`` or
    ``cosine_similarity``: the shrunk cosine g_ij / (|i| |j| + shrinkage) is no metric they offer
    (plain cosine would rank neighbours resting on few co-occurrences first), and the Gram
    matrix is the one EASE already computes."""

    kind = "knn"

    def __init__(self, params: KNNParams, similarity: csr_matrix) -> None:
        self.params = params
        self.similarity = similarity

    @classmethod
    def fit(cls, user_items: csr_matrix, params: KNNParams, num_threads: int = 1) -> "KNNEngine":
        matrix = _as_input(user_items, params.binary)
        with threadpool_limits(num_threads, "blas"):
            g = gram(matrix)
            norms = np.sqrt(np.diag(g)).astype(np.float32)
            g /= norms[:, None] * norms[None, :] + params.shrinkage + 1e-9
            np.fill_diagonal(g, 0.0)
        return cls(params, _keep_top(g, params.neighbours))

    @property
    def spec(self) -> EngineSpec:
        return EngineSpec(self.kind, asdict(self.params))

    @property
    def n_items(self) -> int:
        return self.similarity.shape[0]

    def score_history(self, rows: csr_matrix) -> NDArray[np.float32]:
        return np.asarray((_as_input(rows, self.params.binary) @ self.similarity).toarray(), dtype=np.float32)

    def item_similarity(self, items: NDArray[np.int64], others: NDArray[np.int64]) -> NDArray[np.float32]:
        return np.asarray(self.similarity[others][:, items].toarray(), dtype=np.float32).T

    def arrays(self) -> dict[str, NDArray[Any]]:
        s = self.similarity
        return {"data": s.data, "indices": s.indices, "indptr": s.indptr}

    @classmethod
    def restore(cls, spec: EngineSpec, arrays: Mapping[str, NDArray[Any]]) -> "KNNEngine":
        n_items = len(arrays["indptr"]) - 1
        matrix = csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n_items, n_items))
        return cls(KNNParams(**spec.params), matrix)


class FactorEngine(Engine):
    """ALS or BPR from implicit; user factors are not kept (every history is folded in)."""

    kind = "factors"

    def __init__(self, model: FactorModel) -> None:
        self.model = model
        self._normalised: NDArray[np.float32] | None = None

    @classmethod
    def fit(
        cls, user_items: csr_matrix, params: ALSParams | BPRParams, seed: int = 0, num_threads: int = 1
    ) -> "FactorEngine":
        return cls(FactorModel.train(user_items, params, seed, num_threads))

    @property
    def spec(self) -> EngineSpec:
        return EngineSpec(self.model.kind, asdict(self.model.params))

    @property
    def n_items(self) -> int:
        return self.model.item_factors.shape[0]

    def user_factors(self, rows: csr_matrix) -> NDArray[np.float32]:
        """Factors of the given history rows: ALS's exact solve; for BPR (which has none) the
        mean factor of the items in the history, with implicit's item-bias column set to 1."""
        rows = csr_matrix(rows, dtype=np.float32)
        if self.model.kind == "als":
            return self.model.recalculate(rows)
        binary = rows.copy()
        binary.data[:] = 1.0
        counts = np.maximum(np.asarray(binary.sum(axis=1)).ravel(), 1.0)
        factors = np.asarray(diags(1.0 / counts) @ binary @ self.model.item_factors, dtype=np.float32)
        factors[:, -1] = 1.0
        return factors

    def score_history(self, rows: csr_matrix) -> NDArray[np.float32]:
        return self.user_factors(rows) @ self.model.item_factors.T

    def item_similarity(self, items: NDArray[np.int64], others: NDArray[np.int64]) -> NDArray[np.float32]:
        if self._normalised is None:
            self._normalised = _unit_rows(self.model.item_factors)
        return self._normalised[items] @ self._normalised[others].T

    def arrays(self) -> dict[str, NDArray[Any]]:
        return {"item_factors": np.asarray(self.model.item_factors)}

    @classmethod
    def restore(cls, spec: EngineSpec, arrays: Mapping[str, NDArray[Any]]) -> "FactorEngine":
        params = ALSParams(**spec.params) if spec.kind == "als" else BPRParams(**spec.params)
        model = FactorModel.untrained(params)
        item_factors = np.asarray(arrays["item_factors"], dtype=np.float32)
        model.estimator.item_factors = item_factors
        model.estimator.user_factors = np.zeros((0, item_factors.shape[1]), dtype=np.float32)
        return cls(model)


class BlendEngine(Engine):
    """Weighted sum of the parts' per-user standardised scores."""

    kind = "blend"

    def __init__(self, parts: Sequence[Engine], weights: Sequence[float]) -> None:
        if len(parts) != len(weights) or not parts:
            raise ValueError("a blend needs one weight per part")
        self.parts = list(parts)
        self.weights = [float(w) for w in weights]

    @property
    def spec(self) -> EngineSpec:
        return EngineSpec(self.kind, {"weights": self.weights}, tuple(part.spec for part in self.parts))

    @property
    def n_items(self) -> int:
        return self.parts[0].n_items

    def score_history(self, rows: csr_matrix) -> NDArray[np.float32]:
        total = np.zeros((rows.shape[0], self.n_items))
        for part, weight in zip(self.parts, self.weights, strict=True):
            total += weight * standardise(part.score_history(rows))
        return total.astype(np.float32)

    def _main(self) -> Engine:
        return self.parts[int(np.argmax(self.weights))]

    def item_similarity(self, items: NDArray[np.int64], others: NDArray[np.int64]) -> NDArray[np.float32]:
        """The heaviest part's affinities (scales differ between engines)."""
        return self._main().item_similarity(items, others)

    def similar_items(self, item: int, n: int = 10) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        return self._main().similar_items(item, n)

    def arrays(self) -> dict[str, NDArray[Any]]:
        return {f"{k}.{name}": array for k, part in enumerate(self.parts) for name, array in part.arrays().items()}

    @classmethod
    def restore(cls, spec: EngineSpec, arrays: Mapping[str, NDArray[Any]]) -> "BlendEngine":
        parts = []
        for k, part in enumerate(spec.parts):
            prefix = f"{k}."
            own = {name[len(prefix) :]: a for name, a in arrays.items() if name.startswith(prefix)}
            parts.append(_restore(part, own))
        return cls(parts, spec.params["weights"])


ENGINES: dict[str, type[Engine]] = {
    "popularity": PopularityEngine,
    "ease": EASEEngine,
    "knn": KNNEngine,
    "als": FactorEngine,
    "bpr": FactorEngine,
    "blend": BlendEngine,
}


def fit_engine(spec: EngineSpec, user_items: csr_matrix, seed: int = 0, num_threads: int = 1) -> Engine:
    """Fit the engine ``spec`` describes on a user × item confidence matrix."""
    if spec.kind == "popularity":
        return PopularityEngine.fit(user_items)
    if spec.kind == "ease":
        return EASEEngine.fit(user_items, EASEParams(**spec.params), num_threads)
    if spec.kind == "knn":
        return KNNEngine.fit(user_items, KNNParams(**spec.params), num_threads)
    if spec.kind == "als":
        return FactorEngine.fit(user_items, ALSParams(**spec.params), seed, num_threads)
    if spec.kind == "bpr":
        return FactorEngine.fit(user_items, BPRParams(**spec.params), seed, num_threads)
    if spec.kind == "blend":
        parts = [fit_engine(part, user_items, seed, num_threads) for part in spec.parts]
        return BlendEngine(parts, spec.params["weights"])
    raise ValueError(f"unknown engine kind {spec.kind!r}")


def _restore(spec: EngineSpec, arrays: Mapping[str, NDArray[Any]]) -> Engine:
    if spec.kind not in ENGINES:
        raise ValueError(f"unknown engine kind {spec.kind!r}")
    return ENGINES[spec.kind].restore(spec, arrays)


@dataclass(frozen=True)
class Artefact:
    """A fitted engine with the id maps needed to serve it and the metrics it was accepted on."""

    engine: Engine
    users: IdIndex
    items: IdIndex
    metrics: dict[str, Any]
    created_at: str


def save_artefact(path: str | Path, engine: Engine, users: IdIndex, items: IdIndex, metrics: dict[str, Any]) -> Path:
    """Write the engine's arrays, id maps and a JSON header (format, engine spec, metrics) to one ``.npz``.

    Ids are stored as plain arrays (no pickle), so they must be all integers or all strings.
    """
    meta = {
        "format": ARTEFACT_FORMAT,
        "engine": engine.spec.to_json(),
        "metrics": metrics,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"engine.{name}": array for name, array in engine.arrays().items()}
    with path.open("wb") as handle:
        np.savez(
            handle,
            user_ids=np.asarray(users.ids),
            item_ids=np.asarray(items.ids),
            meta=np.array(json.dumps(meta)),
            **arrays,
        )
    return path


def load_artefact(path: str | Path) -> Artefact:
    """Inverse of ``save_artefact``; refuses artefacts written in another format version."""
    with np.load(Path(path), allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("format") != ARTEFACT_FORMAT:
            raise ValueError(f"artefact format {meta.get('format')} is not {ARTEFACT_FORMAT}")
        arrays = {name[len("engine.") :]: data[name] for name in data.files if name.startswith("engine.")}
        engine = _restore(EngineSpec.from_json(meta["engine"]), arrays)
        users = IdIndex(data["user_ids"].tolist())
        items = IdIndex(data["item_ids"].tolist())
    return Artefact(engine, users, items, meta["metrics"], meta["created_at"])

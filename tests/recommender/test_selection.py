"""Selection on a validation hold-out, the time-based split, and the production pipeline."""

import numpy as np
from scipy.sparse import csr_matrix

from recommender.ml.affect import AffectSignal
from recommender.ml.engines import EngineSpec
from recommender.ml.matrix import IdIndex, InteractionMatrix
from recommender.ml.metrics import holdout_split, time_split
from recommender.ml.selection import PipelineConfig, production_candidates, refit, select, select_and_fit

EASE = EngineSpec("ease", {"regularization": 5.0, "binary": True, "neighbours": None})
ALS = EngineSpec("als", {"factors": 4, "regularization": 0.1, "alpha": 2.0, "iterations": 10})
BROKEN = EngineSpec("ease", {"regularization": -1e9, "binary": True, "neighbours": None})  # not positive definite
FALLBACK = EngineSpec("als", {"factors": 2, "regularization": 1.0, "alpha": 1.0, "iterations": 5})


def test_time_split_holds_out_each_users_latest_items():
    confidence = csr_matrix(np.ones((2, 6), dtype=np.float32))
    last_seen = csr_matrix(np.array([[1, 2, 3, 4, 5, 6], [60, 50, 40, 30, 20, 10]], dtype=np.float64))
    train, test = time_split(confidence, last_seen, fraction=0.34, seed=0)
    assert test[0].indices.tolist() == [4, 5] and sorted(test[1].indices.tolist()) == [0, 1]
    assert train.nnz == 8 and not train.multiply(test).nnz


def test_select_records_every_candidate_and_picks_the_best(two_camps):
    fit, validation = holdout_split(two_camps, 0.3, seed=0)
    selection = select(fit, validation, [EASE, ALS, BROKEN], FALLBACK, seed=1)
    labels = [trial["label"] for trial in selection.trials]
    assert labels[:4] == ["popularity()", EASE.label, ALS.label, BROKEN.label]
    assert "error" in selection.trials[3] and "LinAlgError" in selection.trials[3]["error"]
    blends = [t for t in selection.trials if t["engine"]["kind"] == "blend"]
    assert len(blends) == 3
    best = max((t for t in selection.trials if "error" not in t), key=lambda t: t["ndcg"])
    assert selection.spec.to_json() == best["engine"] and selection.spec.kind != "popularity"
    assert selection.fitted is not None and selection.fitted.spec == selection.spec
    assert all({"ndcg", "precision", "recall", "map", "coverage", "novelty"} <= set(t) for t in blends)


def test_every_candidate_failing_keeps_the_fallback(two_camps):
    fit, validation = holdout_split(two_camps, 0.3, seed=0)
    selection = select(fit, validation, [BROKEN], FALLBACK)
    assert selection.spec == FALLBACK and selection.reason.startswith("fallback")


def _data(two_camps) -> InteractionMatrix:
    last_seen = two_camps.copy()
    last_seen.data = np.arange(1, last_seen.nnz + 1, dtype=np.float64)
    return InteractionMatrix(two_camps, IdIndex(range(40)), IdIndex(range(20)), last_seen)


def _silent(shape: tuple[int, int]) -> AffectSignal:
    empty = np.empty(0, dtype=np.int64)
    return AffectSignal.from_pairs(empty, empty, np.empty(0), shape, np.arange(shape[1]) // 10)


def test_pipeline_selects_on_the_latest_interactions_and_refits(two_camps):
    data = _data(two_camps)
    config = PipelineConfig(candidates=(EASE, ALS), fallback=FALLBACK, min_affect_users=1_000)
    trained = select_and_fit(data, _silent(two_camps.shape), config, seed=1)
    metrics = trained.metrics
    assert metrics["selection"]["split"] == "time" and metrics["selection"]["validation_users"] == 40
    assert trained.engine.spec.to_json() == metrics["selection"]["engine"] == metrics["engine"]
    assert metrics["blend"]["source"].startswith("prior")
    hourly = refit(data, _silent(two_camps.shape), {**metrics, "version": "v1"}, FALLBACK, seed=1)
    assert hourly.engine.spec == trained.engine.spec and hourly.metrics["refit_of"] == "v1"
    assert set(hourly.metrics["seconds"]) == {"training"}


def test_a_failing_final_fit_falls_back(two_camps):
    data = _data(two_camps)
    previous = {"selection": {"engine": BROKEN.to_json()}, "blend": {"strength": 0.0, "weight": 0.0}}
    hourly = refit(data, _silent(two_camps.shape), previous, FALLBACK)
    assert hourly.engine.spec == FALLBACK and "LinAlgError" in hourly.metrics["selection"]["reason"]


def test_the_candidate_grid_follows_the_catalogue_size():
    def eases(n_items: int) -> list[dict]:
        return [dict(spec.params) for spec in production_candidates(n_items) if spec.kind == "ease"]

    assert len(eases(1_000)) == 4 and all(p["neighbours"] is None for p in eases(1_000))
    assert len(eases(10_000)) == 2 and all(p["neighbours"] == 256 for p in eases(10_000))  # served pruned
    assert eases(20_000) == []  # the dense fit would not fit: other engines only
    assert {spec.kind for spec in production_candidates(20_000)} == {"als", "bpr", "knn"}

"""Every engine behind the one interface: fold-in scoring, similar items, persistence."""

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from recommender.ml import engines
from recommender.ml.engines import (
    BlendEngine,
    EASEEngine,
    EASEParams,
    EngineSpec,
    HistoryScorer,
    fit_engine,
    load_artefact,
    save_artefact,
)
from recommender.ml.matrix import IdIndex
from recommender.ml.metrics import evaluate, holdout_split

SPECS = [
    EngineSpec("popularity"),
    EngineSpec("ease", {"regularization": 5.0, "binary": True, "neighbours": None}),
    EngineSpec("ease", {"regularization": 5.0, "binary": False, "neighbours": 6}),
    EngineSpec("knn", {"neighbours": 8, "shrinkage": 1.0, "binary": True}),
    EngineSpec("als", {"factors": 4, "regularization": 0.1, "alpha": 2.0, "iterations": 10}),
    EngineSpec("bpr", {"factors": 4, "learning_rate": 0.05, "regularization": 0.01, "iterations": 50}),
]
PERSONAL = [spec for spec in SPECS if spec.kind != "popularity"]


@pytest.mark.parametrize("spec", PERSONAL, ids=lambda spec: spec.label)
def test_engines_fold_in_a_history_they_never_saw(two_camps, spec):
    engine = fit_engine(spec, two_camps, seed=1)
    newcomer = csr_matrix(([1.0, 1.0, 1.0], ([0, 0, 0], [11, 12, 13])), shape=(1, 20))  # camp B items only
    scores = engine.score_history(newcomer)[0]
    unseen = np.setdiff1d(np.arange(20), [11, 12, 13])
    top = unseen[np.argsort(-scores[unseen])[:4]]
    assert (top >= 10).all()
    assert np.allclose(engine.score_candidates(newcomer, top), scores[top])
    similar, similarity = engine.similar_items(3, n=5)
    assert 3 not in similar and (similar < 10).sum() >= 4 and (np.diff(similarity) <= 1e-6).all()


@pytest.mark.parametrize("spec", PERSONAL, ids=lambda spec: spec.label)
def test_engines_beat_popularity_on_held_out_pairs(two_camps, spec):
    train, test = holdout_split(two_camps, 0.3, seed=0)
    popularity = evaluate(HistoryScorer(fit_engine(EngineSpec("popularity"), train), train), train, test).ndcg.mean()
    ndcg = evaluate(HistoryScorer(fit_engine(spec, train, seed=1), train), train, test).ndcg.mean()
    assert ndcg > popularity


def test_ease_is_the_closed_form(two_camps):
    engine = EASEEngine.fit(two_camps, EASEParams(regularization=3.0))
    x = (two_camps.toarray() > 0).astype(np.float64)
    p = np.linalg.inv(x.T @ x + 3.0 * np.eye(20))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)
    assert np.allclose(engine.weights, expected, atol=1e-4)
    assert np.allclose(engine.score_history(two_camps[:3]), x[:3] @ expected, atol=1e-4)


def test_ease_for_large_catalogues_keeps_the_strongest_weights_per_item(two_camps):
    dense = EASEEngine.fit(two_camps, EASEParams(regularization=3.0))
    pruned = EASEEngine.fit(two_camps, EASEParams(regularization=3.0, neighbours=5))
    assert isinstance(pruned.weights, csr_matrix)
    assert (np.diff(pruned.weights.tocsc().indptr) <= 5).all()
    column = np.abs(dense.weights[:, 4])
    assert set(pruned.weights[:, [4]].nonzero()[0]) == set(np.argsort(-column)[:5])
    assert pruned.nbytes() < dense.nbytes()


def test_blend_adds_standardised_part_scores(two_camps):
    ease, als = fit_engine(SPECS[1], two_camps), fit_engine(SPECS[4], two_camps, seed=1)
    blend = BlendEngine([ease, als], [0.25, 0.75])
    rows = two_camps[:5]
    expected = 0.25 * engines.standardise(ease.score_history(rows)) + 0.75 * engines.standardise(
        als.score_history(rows)
    )
    assert np.allclose(blend.score_history(rows), expected, atol=1e-5)
    assert blend.spec.parts == (ease.spec, als.spec)
    assert np.array_equal(blend.similar_items(2)[0], als.similar_items(2)[0])  # the heavier part's


@pytest.mark.parametrize("spec", [*SPECS, EngineSpec("blend", {"weights": [0.5, 0.5]}, (SPECS[1], SPECS[4]))])
def test_artefact_round_trip(tmp_path, two_camps, spec):
    engine = fit_engine(spec, two_camps, seed=1)
    users, items = IdIndex(range(100, 140)), IdIndex(f"sku-{i}" for i in range(20))
    path = save_artefact(tmp_path / "models" / "m.npz", engine, users, items, {"ndcg": 0.5})
    loaded = load_artefact(path)
    assert loaded.engine.spec == engine.spec
    assert np.allclose(loaded.engine.score_history(two_camps[:7]), engine.score_history(two_camps[:7]), atol=1e-5)
    assert np.array_equal(loaded.engine.similar_items(3)[0], engine.similar_items(3)[0])
    assert loaded.users.ids == users.ids and loaded.items.ids == items.ids
    assert loaded.metrics == {"ndcg": 0.5} and loaded.created_at


def test_artefact_of_another_format_is_refused(tmp_path, two_camps, monkeypatch):
    engine = fit_engine(SPECS[1], two_camps)
    monkeypatch.setattr("recommender.ml.engines.ARTEFACT_FORMAT", 99)
    path = save_artefact(tmp_path / "old.npz", engine, IdIndex(range(40)), IdIndex(range(20)), {})
    monkeypatch.undo()
    with pytest.raises(ValueError, match="format 99"):
        load_artefact(path)


def test_unknown_engine_kind_is_refused(two_camps):
    with pytest.raises(ValueError, match="unknown engine kind 'magic'"):
        fit_engine(EngineSpec("magic"), two_camps)

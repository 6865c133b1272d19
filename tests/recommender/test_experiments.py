"""The pure experiment code: sticky assignment, team-draft interleaving, and the statistics."""

import math
import uuid

import numpy as np
import pytest
from scipy import stats

from recommender.ml import experiments as ex
from recommender.ml import simulate


def test_assignment_is_sticky_and_follows_the_split():
    shoppers = [str(uuid.uuid4()) for _ in range(20_000)]
    first = [ex.assign(s, "experiment-1", 0.3) for s in shoppers]
    assert first == [ex.assign(s, "experiment-1", 0.3) for s in shoppers]  # same shopper, same arm, always
    assert np.mean(first) == pytest.approx(0.3, abs=0.015)


def test_assignments_of_two_experiments_are_independent():
    shoppers = [str(uuid.uuid4()) for _ in range(20_000)]
    one = np.array([ex.assign(s, "experiment-1", 0.5) for s in shoppers])
    two = np.array([ex.assign(s, "experiment-2", 0.5) for s in shoppers])
    assert abs(np.corrcoef(one, two)[0, 1]) < 0.03  # being in B of one says nothing about the other


def test_team_draft_example_of_the_paper():
    # Radlinski, Kurup & Joachims (2008), fig. 3 style: A = (a b c d), B = (b e a f).
    a, b = [1, 2, 3, 4], [2, 5, 1, 6]
    mixed = ex.team_draft(a, b, 4, [True, True, True, True])
    # A picks 1, B picks 2, tie -> coin: A picks 3, B picks 5.
    assert mixed.items == [1, 2, 3, 5] and mixed.teams == [ex.A, ex.B, ex.A, ex.B]
    mixed = ex.team_draft(a, b, 4, [False, False, False, False])
    assert mixed.items == [2, 1, 5, 3] and mixed.teams == [ex.B, ex.A, ex.B, ex.A]


def test_team_draft_is_fair_and_keeps_each_teams_order():
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = list(rng.permutation(20)), list(rng.permutation(20))
        mixed = ex.team_draft(a, b, 9, list(rng.random(9) < 0.5))
        assert len(set(mixed.items)) == 9
        picks = [mixed.teams.count(ex.A), mixed.teams.count(ex.B)]
        assert abs(picks[0] - picks[1]) <= 1
        for team, ranking in ((ex.A, a), (ex.B, b)):
            mine = [item for item, t in zip(mixed.items, mixed.teams, strict=True) if t == team]
            assert mine == sorted(mine, key=ranking.index)


def test_team_draft_when_one_ranking_runs_out():
    mixed = ex.team_draft([1], [2, 3, 4], 4, [True] * 4)
    assert mixed.items == [1, 2, 3, 4] and mixed.teams == [ex.A, ex.B, ex.B, ex.B]


def test_batch_team_draft_matches_the_scalar_one():
    rng = np.random.default_rng(1)
    shoppers, candidates, length = 300, 15, 8
    a = np.argsort(rng.random((shoppers, candidates)), axis=1)
    b = np.argsort(rng.random((shoppers, candidates)), axis=1)
    coins = rng.random((shoppers, length)) < 0.5
    items, teams = ex.team_draft_batch(a, b, length, coins)
    for s in range(shoppers):
        one = ex.team_draft(list(a[s]), list(b[s]), length, list(coins[s]))
        assert list(items[s]) == one.items and list(teams[s]) == one.teams


def test_per_shopper_rate_is_the_binomial_proportion():
    x = np.array([1.0] * 30 + [0.0] * 70)
    rate = ex.ratio_rate(x, np.ones(100))
    assert rate.value == 0.3
    assert rate.se == pytest.approx(math.sqrt(0.3 * 0.7 / 99), rel=1e-9)  # sample variance, n - 1
    assert rate.low == pytest.approx(0.3 - 1.959964 * rate.se, rel=1e-6)


def test_delta_method_matches_a_bootstrap_over_shoppers():
    rng = np.random.default_rng(2)
    impressions = rng.integers(1, 20, 2_000).astype(float)
    propensity = rng.beta(1, 9, 2_000)  # shoppers differ: impressions of one shopper are correlated
    clicks = rng.binomial(impressions.astype(int), propensity).astype(float)
    rate = ex.ratio_rate(clicks, impressions)
    boot = []
    for _ in range(2_000):
        pick = rng.integers(0, 2_000, 2_000)
        boot.append(clicks[pick].sum() / impressions[pick].sum())
    assert rate.se == pytest.approx(np.std(boot), rel=0.1)
    naive = math.sqrt(rate.value * (1 - rate.value) / impressions.sum())
    assert rate.se > 1.3 * naive  # treating impressions as independent would understate it


def test_compare_is_the_unpooled_z_test_and_the_lift_interval_holds_it():
    a = ex.ratio_rate(np.r_[np.ones(100), np.zeros(900)], np.ones(1000))
    b = ex.ratio_rate(np.r_[np.ones(130), np.zeros(870)], np.ones(1000))
    result = ex.compare(a, b)
    z = (0.13 - 0.10) / math.sqrt(0.1 * 0.9 / 999 + 0.13 * 0.87 / 999)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    assert result.lift == pytest.approx(0.3)
    assert result.lift_low < 0.3 < result.lift_high and result.lift_low > 0  # p < 0.05: interval excludes 0
    assert result.significant


def test_sample_ratio_mismatch():
    assert not ex.sample_ratio(5_030, 4_970, 0.5).mismatch
    srm = ex.sample_ratio(5_200, 4_800, 0.5)
    assert srm.mismatch and srm.p_value == pytest.approx(stats.chisquare([5200, 4800]).pvalue)
    assert not ex.sample_ratio(8_010, 1_990, 0.2).mismatch


def test_required_shoppers_is_the_two_proportion_formula():
    n = ex.required_shoppers(0.10, 0.2)
    per_arm = (1.959964 + 0.841621) ** 2 * (0.1 * 0.9 + 0.12 * 0.88) / 0.02**2
    assert 2 * per_arm <= n < 2 * per_arm + 1.5  # rounded up
    assert ex.required_shoppers(0.10, 0.1) > 3.5 * n  # half the lift, about four times the shoppers
    with pytest.raises(ValueError):
        ex.required_shoppers(0.9, 0.5)


def test_interleaving_preference():
    credit_a = np.array([0, 1, 2, 0, 0, 3.0])
    credit_b = np.array([1, 1, 0, 2, 0, 5.0])
    pref = ex.interleaving_preference(credit_a, credit_b)
    # Shoppers who clicked: 5; B wins 3, A wins 1, 1 tie.
    assert (pref.prefer_a, pref.prefer_b, pref.ties) == (1, 3, 1)
    assert pref.delta == pytest.approx(2 / 5)
    assert pref.low < pref.delta < pref.high


def test_analyse_segments_and_horizon():
    rng = np.random.default_rng(4)
    n = 4_000
    arm = rng.integers(0, 2, n)
    impressions = rng.integers(1, 6, n).astype(float)
    clicks = rng.binomial(impressions.astype(int), np.where(arm == 1, 0.12, 0.10)).astype(float)
    table = ex.ShopperTable(arm, impressions, clicks, clicks * 0, clicks * 0, rng.random(n) < 0.3)
    analysis = ex.analyse(table, 0.5, planned_lift=0.2, horizon=10_000)
    assert analysis.total_shoppers == n and not analysis.horizon_reached and analysis.more_needed == 6_000
    assert analysis.sample_ratio is not None and not analysis.sample_ratio.mismatch
    assert [m.metric for m in analysis.metrics] == ["clicks", "carts", "purchases"]
    assert analysis.required is not None and analysis.required > 0
    triggered = ex.analyse(table.subset(table.triggered), 0.5)
    assert triggered.total_shoppers == int(table.triggered.sum())


def test_simulated_ab_traffic_plants_the_lift_on_triggered_shoppers_only():
    rng = np.random.default_rng(5)
    table = simulate.ab_traffic(simulate.Traffic(), 40_000, 1.0, "sim", 0.5, rng)
    assert table.arm.mean() == pytest.approx(0.5, abs=0.01) and table.triggered.mean() == pytest.approx(0.3, abs=0.01)

    def ctr(mask):
        return table.clicks[mask].sum() / table.impressions[mask].sum()

    untriggered = ~table.triggered
    assert ctr(untriggered & (table.arm == 1)) == pytest.approx(ctr(untriggered & (table.arm == 0)), rel=0.1)
    assert ctr(table.triggered & (table.arm == 1)) == pytest.approx(
        2 * ctr(table.triggered & (table.arm == 0)), rel=0.15
    )


def test_simulated_interleaving_credits_every_click_once():
    rng = np.random.default_rng(6)
    table = simulate.interleaved_lists(simulate.Lists(), 5_000, rng)
    assert table.credit_a is not None and table.credit_b is not None
    assert np.array_equal(table.credit_a + table.credit_b, table.clicks)
    assert table.credit_b.sum() > table.credit_a.sum()  # B ranks with less noise: it earns more clicks


def test_a_small_aa_run_rejects_about_five_percent():
    """The benchmark does this at scale (benchmarks/bench_experiments.py); here 300 seeded runs."""
    rng = np.random.default_rng(7)
    rejected = 0
    for run in range(300):
        analysis = ex.analyse(simulate.ab_traffic(simulate.Traffic(), 1_000, 0.0, f"aa{run}", 0.5, rng), 0.5)
        rejected += analysis.metrics[0].per_shopper.p_value < ex.ALPHA
    assert 0.02 <= rejected / 300 <= 0.09

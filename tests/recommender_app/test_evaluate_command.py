"""``manage.py evaluate_recommender --interactions FILE``: the production path on any TSV."""

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

SMALL_GRID = [
    {"kind": "ease", "params": {"regularization": 5.0, "binary": True, "neighbours": None}},
    {"kind": "als", "params": {"factors": 4, "regularization": 0.1, "alpha": 2.0, "iterations": 5}},
]


def write_tsv(path, timestamps: bool) -> None:
    """60 users in two camps over 24 items, a few events each, timestamps optional."""
    rng = np.random.default_rng(0)
    lines = ["user\titem\tevent\ttimestamp" if timestamps else "user\titem\tevent"]
    for user in range(60):
        camp = 0 if user < 30 else 12
        for n, item in enumerate(rng.choice(12, size=7, replace=False)):
            event = ("view", "cart", "purchase", "2.5")[n % 4]
            row = f"u{user}\ti{camp + item}\t{event}"
            lines.append(row + (f"\t{1_700_000_000 + 3600 * n + user}" if timestamps else ""))
    path.write_text("\n".join(lines) + "\n")


def test_evaluate_runs_the_production_path_beside_the_baselines(tmp_path, settings, capsys):
    settings.RECOMMENDER_CANDIDATES = SMALL_GRID
    data, out = tmp_path / "shop.tsv", tmp_path / "result.json"
    write_tsv(data, timestamps=True)
    call_command("evaluate_recommender", "--interactions", str(data), "--json", str(out), "--seeds", "5")
    result = json.loads(out.read_text())
    assert result["data"] == "shop" and result["timestamps"] and set(result["summary"]) == {"random", "time"}
    assert len(result["runs"]) == 10
    for part in result["summary"].values():
        assert part["seeds"] == 5
        assert set(part["models"]) == {"production", "popularity", "als_untuned", "als_tuned", "ease"}
        ndcg = part["models"]["production"]["ndcg"]
        assert ndcg["n"] == 5 and ndcg["ci95"] >= 0 and ndcg["mean"] > part["models"]["popularity"]["ndcg"]["mean"]
        assert {"map", "novelty", "coverage", "precision", "recall"} <= set(part["models"]["ease"])
    run = result["runs"][0]
    assert run["selected"] and len(run["candidates"]) >= 3  # popularity, the two engines, blends
    assert run["test"]["ease"]["engine"].startswith("ease(") and "neighbours=None" in run["test"]["ease"]["engine"]
    printed = capsys.readouterr().out
    assert "| shop | time (5 seeds) | **production** |" in printed and "production NDCG@10 vs ease" in printed


def test_without_timestamps_only_the_random_split_runs(tmp_path, settings):
    settings.RECOMMENDER_CANDIDATES = SMALL_GRID
    data, out = tmp_path / "shop.tsv", tmp_path / "result.json"
    write_tsv(data, timestamps=False)
    call_command("evaluate_recommender", "--interactions", str(data), "--json", str(out))
    assert set(json.loads(out.read_text())["summary"]) == {"random"}
    with pytest.raises(CommandError, match="needs a timestamp"):
        call_command("evaluate_recommender", "--interactions", str(data), "--splits", "time")


def test_a_progress_bar_counts_every_run(tmp_path, settings, monkeypatch):
    """One tick per (split, seed) run, its total known up front, so the bar has an ETA."""
    from recommender.management.commands import evaluate_recommender

    bars = []

    class Bar(evaluate_recommender.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "disable": True})
            self.ticks = 0
            bars.append(self)

        def update(self, n=1):
            self.ticks += n

    monkeypatch.setattr(evaluate_recommender, "tqdm", Bar)
    settings.RECOMMENDER_CANDIDATES = SMALL_GRID
    data = tmp_path / "shop.tsv"
    write_tsv(data, timestamps=True)
    call_command("evaluate_recommender", "--interactions", str(data), "--seeds", "5")
    assert [(bar.total, bar.ticks) for bar in bars] == [(10, 10)]


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [("u\ti\tview\n", ["--seeds", "3"], "at least 5"), ("u\ti\n", [], "3 or 4 tab-separated")],
)
def test_bad_input_is_a_clear_error(tmp_path, content, args, message):
    data = tmp_path / "bad.tsv"
    data.write_text("u\ti\tview\n" + content)
    with pytest.raises(CommandError, match=message):
        call_command("evaluate_recommender", "--interactions", str(data), *args)


def test_partial_runs_on_disjoint_seeds_merge_into_one_result(tmp_path, settings):
    settings.RECOMMENDER_CANDIDATES = SMALL_GRID
    data = tmp_path / "shop.tsv"
    write_tsv(data, timestamps=False)
    parts = []
    for first, count in ((0, 3), (3, 2)):
        parts.append(tmp_path / f"part{first}.json")
        call_command(
            "evaluate_recommender", "--interactions", str(data), "--json", str(parts[-1]),
            "--first-seed", str(first), "--seeds", str(count), "--partial",
        )  # fmt: skip
    merged = tmp_path / "merged.json"
    call_command("evaluate_recommender", "--merge", *map(str, parts), "--json", str(merged))
    result = json.loads(merged.read_text())
    assert sorted(run["seed"] for run in result["runs"]) == [0, 1, 2, 3, 4]
    assert result["summary"]["random"]["models"]["production"]["ndcg"]["n"] == 5
    with pytest.raises(CommandError, match="share seeds"):
        call_command("evaluate_recommender", "--merge", str(parts[0]), str(parts[0]), "--json", str(merged))

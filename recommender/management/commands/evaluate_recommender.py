"""``python manage.py evaluate_recommender``: the engine's offline evaluation.

``--interactions FILE`` (a TSV: ``user  item  event-or-weight  [timestamp]``, see
``recommender.ml.datasets.load_tsv``) runs the shop's own training and selection path on that
data (``recommender.ml.comparison``: random and, with timestamps, time-based splits, at least
5 seeds) beside popularity, untuned ALS, tuned ALS and EASE, and prints a table with 95 %
intervals; ``--json`` writes everything. Shop owners can check the engine on their own data.

Without it:

Runs the functions ``benchmarks/bench_recommender_offline.py`` runs (``recommender.ml.evaluate``:
CF on RetailRocket and MovieLens, the emotion blend on simulated shops) with the same seed and
single-threaded BLAS, so its figures reproduce the committed ``benchmarks/results/recommender_offline.json``;
it then prints the headline NDCG@10 figures next to the committed ones.
"""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from recommender.ml.comparison import compare, summarise, table
from recommender.ml.datasets import DATASETS_DIR, load_tsv
from recommender.ml.evaluate import K, classifier, run_cf, run_emotion
from recommender.ml.simulate import mean_recall
from recommender.training import pipeline_config

MIN_SEEDS = 5

COMMITTED = Path(settings.BASE_DIR) / "benchmarks" / "results" / "recommender_offline.json"


def headline(result: dict[str, Any]) -> dict[str, float]:
    """The figures worth comparing: test NDCG@10 per data set and model, and the blend's gain."""
    figures = {
        f"{dataset} {model} ndcg": metrics["ndcg"]
        for dataset, part in result.get("cf", {}).items()
        for model, metrics in part["test"].items()
    }
    emotion = result.get("emotion")
    if emotion:
        figures |= {f"shop {model} ndcg": metrics["ndcg"] for model, metrics in emotion["test"].items()}
        figures["shop blend relative gain (mean)"] = emotion["relative_gain_mean"]
    return figures


class Command(BaseCommand):
    help = "Offline evaluation of the recommender engine; reproduces benchmarks/results/recommender_offline.json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", type=Path, help="write the full results here")
        parser.add_argument("--part", choices=("all", "cf", "emotion"), default="all")
        parser.add_argument("--datasets", type=Path, default=DATASETS_DIR)
        parser.add_argument("--confusion", type=Path, help="emotion classifier evaluation JSON")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--compare", type=Path, default=COMMITTED, help="results to compare with")
        parser.add_argument("--interactions", type=Path, help="TSV: user, item, event or weight, optional timestamp")
        parser.add_argument("--seeds", type=int, default=MIN_SEEDS, help=f"seeds per split (at least {MIN_SEEDS})")
        parser.add_argument("--splits", nargs="+", choices=("random", "time"), help="default: both when timestamped")
        parser.add_argument("--name", help="data set name for the table (default: the file's name)")
        parser.add_argument("--threads", type=int, default=1, help="training threads")
        parser.add_argument("--first-seed", type=int, default=0, help="seeds run from here (parallel runs)")
        parser.add_argument("--partial", action="store_true", help="fewer seeds allowed: to --merge afterwards")
        parser.add_argument(
            "--merge", type=Path, nargs="+", help="combine the --json files of runs on other seeds into --json"
        )

    def handle(self, *args: object, **options: Any) -> None:
        if options["merge"]:
            self._merge(options)
            return
        if options["interactions"] is not None:
            self._interactions(options)
            return
        result: dict[str, Any] = {"benchmark": "recommender_offline", "seed": options["seed"], "k": K}
        confusion, source = classifier(options["confusion"])
        with threadpool_limits(1, "blas"):
            if options["part"] in ("all", "cf"):
                try:
                    result["cf"] = run_cf(options["datasets"], options["seed"])
                except FileNotFoundError as exc:
                    raise CommandError(f"public data set missing: {exc}") from exc
            if options["part"] in ("all", "emotion"):
                result["emotion"] = run_emotion(confusion, options["seed"])
                result["emotion"]["classifier"] = {"source": source, "mean_recall": mean_recall(confusion)}
        if options["json"]:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            options["json"].write_text(json.dumps(result, indent=2) + "\n")
        self._compare(headline(result), options["compare"])

    def _interactions(self, options: dict[str, Any]) -> None:
        """The production path against the baselines on the given TSV."""
        if options["seeds"] < MIN_SEEDS and not options["partial"]:
            raise CommandError(f"--seeds must be at least {MIN_SEEDS} (95 % intervals over seeds).")
        try:
            data = load_tsv(options["interactions"])
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if options["splits"] and "time" in options["splits"] and data.last_seen is None:
            raise CommandError("a time-based split needs a timestamp column.")
        name = options["name"] or options["interactions"].stem
        config = pipeline_config(len(data.items))

        seeds = range(options["first_seed"], options["first_seed"] + options["seeds"])
        splits = options["splits"] or (["random", "time"] if data.last_seen is not None else ["random"])
        # One tick per (split, seed) run, with an ETA; on a terminal only, so piped output stays clean.
        bar = tqdm(total=len(splits) * len(seeds), desc="evaluation runs", unit=" run", disable=None)

        def progress(run: dict[str, Any]) -> None:
            ndcg = {model: round(figures["ndcg"], 4) for model, figures in run["test"].items()}
            line = f"{run['split']} seed {run['seed']}: {run['selected']} -> {ndcg}"
            if bar.disable:
                self.stdout.write(line)
            else:
                bar.write(line)
            bar.update()

        with threadpool_limits(options["threads"], "blas"), bar:
            result = compare(data, config, seeds, splits, options["threads"], progress)
        self._report({"benchmark": "recommender_engines", "data": name, **result}, options["json"])

    def _merge(self, options: dict[str, Any]) -> None:
        """One result from runs on disjoint seeds (e.g. run in parallel with --first-seed)."""
        parts = [json.loads(path.read_text()) for path in options["merge"]]
        runs = [run for part in parts for run in part["runs"]]
        if len({(run["split"], run["seed"]) for run in runs}) != len(runs):
            raise CommandError("the merged files share seeds")
        if len({run["seed"] for run in runs}) < MIN_SEEDS:
            raise CommandError(f"at least {MIN_SEEDS} seeds are needed for the intervals")
        meta = {key: parts[0][key] for key in ("users", "items", "pairs", "timestamps")}
        result = {"benchmark": "recommender_engines", "data": parts[0]["data"], **summarise(meta, runs)}
        self._report(result, options["json"])

    def _report(self, result: dict[str, Any], path: Path | None) -> None:
        name = result["data"]
        self.stdout.write(table(result, name))
        for split, part in result["summary"].items():
            for baseline, gain in part["production_ndcg_relative_to"].items():
                self.stdout.write(
                    f"{split}: production NDCG@10 vs {baseline}: {gain['mean']:+.1%} ± {gain['ci95']:.1%} (paired)"
                )
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, indent=2) + "\n")

    def _compare(self, figures: dict[str, float], path: Path) -> None:
        committed = headline(json.loads(path.read_text())) if path.exists() else {}
        worst = 0.0
        for name, value in figures.items():
            reference = committed.get(name)
            delta = "" if reference is None else f"  (committed {reference:.4f}, diff {value - reference:+.2e})"
            worst = max(worst, abs(value - reference) if reference is not None else 0.0)
            self.stdout.write(f"{name:<40} {value:.4f}{delta}")
        if committed:
            style = self.style.SUCCESS if worst < 1e-6 else self.style.WARNING
            self.stdout.write(style(f"largest difference from {path.name}: {worst:.2e}"))

"""`results.json`, the record of one evaluation run: its schema, its validation, and its scores as rows.

Scores in `results.json` are fractions in [0, 1]; the rows show them as percentages with one decimal. A benchmark
with `"complete": false` (a `--limit`ed or interrupted run) is marked partial in its row. The top-level `settings` are
the EvalPlus benchmarks' generation settings; a bigcode benchmark records the settings it ran with in its own entry
(`settings`). What is made of the rows: the table (`eval/table.py`), the Hub's `model-index` and `.eval_results/`
(`eval/model_index.py`), the model card (`eval/model_card.py`) and the push of both (`eval/push.py`).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import NamedTuple

from eval.paper import BENCHMARKS, RESULT_KEYS

SCHEMA = 1
METRIC = "pass@1"


class ResultsError(ValueError):
    """A results file (or dict) that cannot be read as evaluation results."""


class ScoreRow(NamedTuple):
    key: str  # score key: a benchmark of results.json, or `<benchmark>_plus`
    benchmark: str  # the benchmark of results.json the score belongs to
    name: str  # display name, e.g. "HumanEval+"
    metric: str
    value: float  # percent, one decimal
    complete: bool
    partial: str | None  # "partial: N of M tasks" for an incomplete benchmark


def _fraction(value, where: str, source: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ResultsError(f"{source}: {where} is {value!r}, not a number")
    if not 0 <= value <= 1:
        raise ResultsError(f"{source}: {where} is {value!r}; scores are fractions in [0, 1], not percentages")


def _need_dict(value, where: str, source: str) -> dict:
    if not isinstance(value, dict):
        raise ResultsError(f"{source}: {where} must be an object, got {type(value).__name__}")
    return value


def validate_results(results, source: str = "results") -> None:
    """Raise ResultsError naming `source` and the first thing that is wrong."""
    _need_dict(results, "the file", source)
    if results.get("schema") != SCHEMA:
        raise ResultsError(
            f"{source}: schema is {results.get('schema')!r}; this version reads schema {SCHEMA} "
            "(written by `python -m eval`)"
        )
    for key in ("date", "model", "settings", "benchmarks"):
        if key not in results:
            raise ResultsError(f"{source}: missing key {key!r}")
    try:
        datetime.fromisoformat(results["date"])
    except (TypeError, ValueError) as e:
        raise ResultsError(f"{source}: date {results['date']!r} is not an ISO-8601 date") from e
    model = _need_dict(results["model"], "model", source)
    if not isinstance(model.get("name"), str) or not model["name"]:
        raise ResultsError(f"{source}: model.name must be a non-empty string")
    _need_dict(results["settings"], "settings", source)
    _need_dict(results.get("versions", {}), "versions", source)
    benchmarks = _need_dict(results["benchmarks"], "benchmarks", source)
    if not benchmarks:
        raise ResultsError(f"{source}: benchmarks is empty; the run scored nothing")
    for key, bench in benchmarks.items():
        if key not in RESULT_KEYS:
            raise ResultsError(f"{source}: unknown benchmark {key!r}; known: {', '.join(RESULT_KEYS)}")
        where = f"benchmarks.{key}"
        _need_dict(bench, where, source)
        scores = _need_dict(bench.get("scores"), f"{where}.scores", source)
        if METRIC not in scores:
            raise ResultsError(f"{source}: {where}.scores has no {METRIC!r}")
        _fraction(scores[METRIC], f"{where}.scores[{METRIC!r}]", source)
        plus = bench.get("plus_scores")
        if plus is not None:
            if f"{key}_plus" not in BENCHMARKS:
                raise ResultsError(f"{source}: {where}.plus_scores is set, but {key} has no plus tests (use null)")
            _need_dict(plus, f"{where}.plus_scores", source)
            if METRIC not in plus:
                raise ResultsError(f"{source}: {where}.plus_scores has no {METRIC!r}")
            _fraction(plus[METRIC], f"{where}.plus_scores[{METRIC!r}]", source)
        if not isinstance(bench.get("complete"), bool):
            raise ResultsError(f"{source}: {where}.complete must be true or false")
        _need_dict(bench.get("dataset", {}), f"{where}.dataset", source)


def _partial_label(bench: dict) -> str | None:
    if bench["complete"]:
        return None
    done, total = bench.get("n_tasks"), bench.get("dataset", {}).get("n_tasks")
    return f"partial: {done} of {total} tasks" if done is not None and total is not None else "partial"


def score_rows(results: dict) -> list[ScoreRow]:
    """One row per score (base, then plus), in the order of `eval.paper.BENCHMARKS`."""
    benchmarks = results["benchmarks"]
    rows = []
    for key in RESULT_KEYS:
        bench = benchmarks.get(key)
        if bench is None:
            continue
        for score_key, scores in ((key, bench["scores"]), (f"{key}_plus", bench.get("plus_scores"))):
            if scores is None:
                continue
            value = round(100 * scores[METRIC], 1)
            rows.append(
                ScoreRow(
                    score_key, key, BENCHMARKS[score_key].name, METRIC, value, bench["complete"], _partial_label(bench)
                )
            )
    return rows

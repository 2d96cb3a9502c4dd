"""Decontaminate stage: drop rows that contain benchmark strings (the StarCoder / bigcode-dataset logic of the paper).

Substring mode (always on): a row is contaminated when any benchmark string of `benchmarks.py`, lower-cased, occurs
in its lower-cased `problem + "\\n\\n" + solution` (the release joins its columns with a blank line; rows of the evol
and direct chains use `instruction` and `response`); a row with several solutions (`samples`, `solutions_per_problem`,
or a verified source's own `source_samples`) publishes them all, so they are searched too. When several strings
occur in a row, the one bigcode's loop would meet first (recipe order of the benchmarks, then the benchmark's own
order) is reported.

N-gram mode (`decontamination_ngram: N`, not in the paper): rows the substring test kept are also dropped when they
share a run of N words with a benchmark string, which catches copies with changed whitespace, punctuation or a few
words.

Both read each row once through the indexes of `dataset_builder.benchmark_index`, built once per run.

Kept rows go to `dataset/`; removed rows to `rejects/` with `reason` ("contaminated"), `benchmark`, `task_id`,
`matched` (the benchmark string, or the shared n-gram, cut to `MATCHED_CHARS`) and `method` ("substring" or
"ngram"). `report.md` in the run folder lists them with the benchmarks' sources and counts.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from pathlib import Path

from dataset_builder.benchmark_index import Decontaminator, Match, truncate
from dataset_builder.benchmarks import load_benchmarks
from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)

SEPARATOR = "\n\n"
TEXT_COLUMNS = (("problem", "solution"), ("instruction", "response"))
SAMPLE_COLUMNS = ("samples", "source_samples")  # lists of solutions a row publishes besides its own
REJECT_COLUMNS = ("reason", "benchmark", "task_id", "matched", "method")


def row_text(first: str | None, second: str | None) -> str:
    return (first or "") + SEPARATOR + (second or "")


def _strings(samples) -> list[str]:
    """The texts of a row's samples cell (a list of strings; anything else in a downloaded dataset holds none)."""
    return [s for s in samples if isinstance(s, str)] if isinstance(samples, list) else []


def text_columns(columns: list[str]) -> tuple[str, str]:
    for pair in TEXT_COLUMNS:
        if set(pair) <= set(columns):
            return pair
    raise ConfigError(f"decontaminate needs columns problem/solution or instruction/response, got {columns}.")


def _rejects(ds, removed: list[tuple[int, Match]]):
    from datasets import Dataset, Value

    rows = ds.select([i for i, _ in removed])
    columns = {name: rows[name] for name in rows.column_names}
    columns["reason"] = ["contaminated"] * len(removed)
    for name in REJECT_COLUMNS[1:]:
        columns[name] = [getattr(m, name) for _, m in removed]
    features = ds.features.copy()
    for name in REJECT_COLUMNS:
        features[name] = Value("string")
    return Dataset.from_dict(columns, features=features)


def _cell(text) -> str:
    return json.dumps(text, ensure_ascii=False).replace("|", "\\|") if isinstance(text, str) else str(text)


def _row(*cells) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"


def write_report(path: Path, ds, removed: list[tuple[int, Match]], stats: dict) -> None:
    ngram = stats["index"]["ngram"]
    lines = [
        "# Decontamination report",
        "",
        "Method: case-insensitive exact substring search of benchmark strings in problem + solution "
        "(StarCoder / bigcode-dataset, as in the Magicoder paper)"
        + (f", plus word {ngram}-gram overlap (not in the paper)." if ngram else "."),
        "",
        f"Rows: {stats['rows_in']} in, {stats['kept']} kept, {len(removed)} removed.",
        "",
        "## Benchmarks",
        "",
        "| benchmark | source | strings | removed (substring) | removed (n-gram) |",
        "|---|---|---|---|---|",
    ]
    for name, info in stats["benchmarks"].items():
        src = info["source"]
        where = src.get("package") or src.get("path")
        by = stats["removed_by_benchmark"].get(name, {})
        lines.append(
            _row(name, f"{src['kind']}: `{where}`", info["strings"], by.get("substring", 0), by.get("ngram", 0))
        )
    for name in stats["skipped_benchmarks"]:
        lines.append(_row(name, "**skipped on purpose (skip_benchmarks): not checked**", "-", "-", "-"))
    lines += ["", "## Removed rows", ""]
    if removed:
        ids = ds.select([i for i, _ in removed])
        index = ids["index"] if "index" in ids.column_names else [i for i, _ in removed]
        langs = ids["lang"] if "lang" in ids.column_names else [""] * len(removed)
        lines += ["| index | lang | benchmark | task id | method | matched |", "|---|---|---|---|---|---|"]
        for (_, m), idx, lang in zip(removed, index, langs, strict=True):
            lines.append(_row(idx, lang, m.benchmark, _cell(m.task_id), m.method, _cell(truncate(m.matched, 120))))
    else:
        lines.append("None.")
    path.write_text("\n".join(lines) + "\n")


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    # --- benchmarks and rows ---
    benchmarks, skipped = load_benchmarks(config)
    ds = upstream.load()
    first, second = text_columns(ds.column_names)
    texts = [row_text(a, b) for a, b in zip(ds[first], ds[second], strict=True)]
    # several solutions per problem (this build's `samples`, a verified source's `source_samples`): the row publishes
    # every one of them
    for name in SAMPLE_COLUMNS:
        if name in ds.column_names:
            every = zip(texts, ds[name], strict=True)
            texts = [text + "".join(SEPARATOR + s for s in _strings(samples)) for text, samples in every]

    # --- index once, then one pass over the rows ---
    t0 = time.perf_counter()
    decontaminator = Decontaminator(benchmarks, config.decontamination_ngram)
    t1 = time.perf_counter()
    matches = decontaminator.find(texts)
    t2 = time.perf_counter()

    # --- split, count, report, save ---
    counter = DropCounter()
    by_benchmark: dict[str, Counter] = defaultdict(Counter)
    removed = []
    for i, match in enumerate(matches):
        if match is None:
            counter.keep()
            continue
        counter.drop("contaminated")
        by_benchmark[match.benchmark][match.method] += 1
        removed.append((i, match))
    extras = {
        "removed_by_benchmark": {name: dict(c) for name, c in sorted(by_benchmark.items())},
        "benchmarks": {b.name: b.summary() for b in benchmarks},
        "skipped_benchmarks": skipped,
        "text_columns": [first, second],
        "index": decontaminator.stats(),
        "seconds": {"index": round(t1 - t0, 3), "scan": round(t2 - t1, 3)},
        "report": "report.md",
    }
    write_report(run_dir.path / "report.md", ds, removed, counter.counts() | extras)
    kept = ds.select([i for i, m in enumerate(matches) if m is None])
    run_dir.save(kept, _rejects(ds, removed), counter, **extras)
    logger.info(
        "decontaminate: %s; by benchmark %s; skipped %s -> %s",
        counter.summary(),
        extras["removed_by_benchmark"] or "{}",
        skipped or "none",
        run_dir.dataset_path,
    )


class Decontaminate(Stage):
    """Drops rows that contain a benchmark string (or share an n-gram with one)."""

    name = "decontaminate"
    version = 1
    run = staticmethod(run)

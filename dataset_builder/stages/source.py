"""Source stage: the first stage of the `verify` pipeline, an existing dataset in one of the released schemas.

`verify_dataset` is a Hub id (e.g. `ise-uiuc/Magicoder-OSS-Instruct-75K`, `ise-uiuc/Magicoder-Evol-Instruct-110K`) or
a local .jsonl/.json/.parquet file or `save_to_disk` folder, with either `problem`/`solution`/`lang` (OSS-Instruct)
or `instruction`/`response` (Evol-Instruct; the language is taken from the response's first code fence). Every
original column is kept; `lang` is added when missing and `raw_index` (the row's position in the split, the key the
later stages journal by) when the dataset has none that is unique. A column that a later stage of the pipeline adds
(`tests`, `exec_status`, ... : a verified build verified again) is kept as `source_<name>` (`added_columns`), so the
new verdicts sit beside the old ones. Rows without text are dropped with a reason; nothing else is filtered here.
"""

from __future__ import annotations

import logging
import os

from dataset_builder import languages
from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.base import Stage
from dataset_builder.stages.decontaminate import TEXT_COLUMNS

logger = logging.getLogger(__name__)


def load(config: BuilderConfig):
    """`verify_dataset` as a `datasets.Dataset` (one split)."""
    from datasets import load_dataset, load_from_disk

    source = config.verify_dataset
    if not source:
        raise ConfigError(
            "The verify pipeline needs `verify_dataset`: a Hub id such as ise-uiuc/Magicoder-OSS-Instruct-75K or a "
            "local .jsonl/.parquet file (`--verify_dataset ID_OR_PATH`)."
        )
    path = os.path.expanduser(source)
    try:
        if os.path.isdir(path) and os.path.exists(os.path.join(path, "dataset_info.json")):
            return load_from_disk(path)
        if os.path.isfile(path):
            builder = "parquet" if path.endswith(".parquet") else "json"
            return load_dataset(builder, data_files=path, split="train")
        if os.path.isdir(path):
            return load_dataset(path, split=config.verify_split)
        return load_dataset(source, split=config.verify_split, revision=config.verify_revision)
    except Exception as err:
        raise ConfigError(
            f"Cannot load verify_dataset {source!r}: {err}. Give a Hub dataset id or a local .jsonl/.parquet file or "
            "save_to_disk folder with columns problem/solution/lang or instruction/response."
        ) from err


def added_columns() -> tuple[str, ...]:
    """The columns the verify pipeline's later stages add (a rejects table's `reason` too)."""
    from dataset_builder.stages import execute, execute_mutants, solutions, tests

    names = (*tests.COLUMNS, *execute.VERIFY_COLUMNS, *execute_mutants.MUTATION_COLUMNS, *solutions.ADDED, "reason")
    return tuple(dict.fromkeys(names))


def renamed_columns(columns: list[str]) -> dict[str, str]:
    """{a column a later stage adds: `source_<name>`} for the dataset's `columns`; ConfigError when that name is
    taken too."""
    renamed = {name: f"source_{name}" for name in added_columns() if name in columns}
    clash = [name for name, new in renamed.items() if new in columns]
    if clash:
        raise ConfigError(
            f"verify_dataset has both {', '.join(clash)} and {', '.join(renamed[name] for name in clash)}: the verify "
            "stages add the first and keep a source's own as the second. Drop or rename one of them (e.g. "
            "`ds.remove_columns`) and verify the result."
        )
    return renamed


def schema(columns: list[str]) -> tuple[str, str]:
    """The (problem, solution) column names of a dataset in one of the released schemas."""
    for pair in TEXT_COLUMNS:  # the same two schemas decontaminate reads
        if set(pair) <= set(columns):
            return pair
    raise ConfigError(
        f"verify_dataset has columns {columns}: it needs problem/solution (with lang) or instruction/response."
    )


def first_fence_language(text: str) -> str:
    """The canonical language of the first fenced block that names one (```python -> python), or ''."""
    from dataset_builder.code_blocks import blocks, fence_language

    return next((lang for lang in (fence_language(info) for info, _ in blocks(text or "")) if lang), "")


def _map(row: dict, index: int, problem: str, solution: str, has_lang: bool, keep_raw_index: bool) -> dict:
    if has_lang and row["lang"]:
        lang = languages.canonical(str(row["lang"]))
    else:
        lang = first_fence_language(row[solution])
    reason = "empty_problem" if not (row[problem] or "").strip() else None
    reason = reason or ("empty_solution" if not (row[solution] or "").strip() else None)
    out = {"lang": lang, "reason": reason}
    if not keep_raw_index:
        out["raw_index"] = index
    return out


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir | None = None) -> None:
    source = load(config)
    problem, solution = schema(source.column_names)
    rows_in = len(source)
    if config.verify_max_rows is not None and config.verify_max_rows < len(source):
        source = source.shuffle(seed=config.seed).select(range(config.verify_max_rows))
    keep_raw_index = "raw_index" in source.column_names and len(set(source["raw_index"])) == len(source)
    if "raw_index" in source.column_names and not keep_raw_index:
        source = source.rename_column("raw_index", "source_raw_index")
    renamed = renamed_columns(source.column_names)
    if renamed:
        source = source.rename_columns(renamed)
        logger.info("source: the dataset's own %s kept as %s", ", ".join(renamed), ", ".join(renamed.values()))
    mapped = source.map(
        _map,
        with_indices=True,
        fn_kwargs={
            "problem": problem,
            "solution": solution,
            "has_lang": "lang" in source.column_names,
            "keep_raw_index": keep_raw_index,
        },
        desc="source: schema",
    )
    counter = DropCounter.of_reasons(mapped["reason"])
    kept = mapped.filter(lambda r: r["reason"] is None, desc="source: keep").remove_columns("reason")
    rejects = mapped.filter(lambda r: r["reason"] is not None, desc="source: rejects")
    if rows_in > len(source):  # the rows left out of the sample count as dropped, so rows_in is the split's size
        counter.dropped["not_sampled"] = rows_in - len(source)
    info = {
        "dataset": config.verify_dataset,
        "revision": config.verify_revision,
        "split": config.verify_split,
        "schema": [problem, solution],
        "rows": rows_in,
        "sampled": len(source),
        "renamed": renamed,
    }
    run_dir.save(kept, rejects, counter, source=info, languages=dict(sorted(_count(kept["lang"]).items())))
    logger.info("source: %s of %d rows (%s/%s) -> %s", counter.summary(), rows_in, problem, solution, run_dir.path)


def _count(values) -> dict:
    from collections import Counter

    return Counter(v or "unknown" for v in values)


class Source(Stage):
    """Loads an existing dataset to verify, in the OSS-Instruct or Evol-Instruct schema."""

    name = "source"
    version = 2  # 2: a column a later stage adds is kept as source_<name>
    run = staticmethod(run)

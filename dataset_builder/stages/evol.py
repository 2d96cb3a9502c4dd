"""Evol stage: the stage-2 data of MagicoderS, `theblackcat102/evol-codealpaca-v1` mapped to `instruction, response`.

The evol-instruct chain is `evol -> decontaminate -> publish` (recipe field `pipeline: evol_instruct`), which makes
the decontaminated Evol-Instruct-110K dataset with the columns of the released `ise-uiuc/Magicoder-Evol-Instruct-110K`.
Rows with an empty instruction or response are dropped with a reason; nothing else is filtered here.
"""

from __future__ import annotations

import logging
import os

from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.runs import DropCounter, RunDir, with_index
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)

COLUMNS = ["raw_index", "index", "instruction", "response"]


def load_source(config: BuilderConfig):
    """The evol dataset from the Hub (id + revision) or local .jsonl/.json/.parquet files."""
    from datasets import load_dataset

    source = config.evol_dataset
    path = os.path.expanduser(source)
    try:
        if os.path.exists(path) and os.path.isfile(path):
            builder = "parquet" if path.endswith(".parquet") else "json"
            return load_dataset(builder, data_files=path, split="train")
        return load_dataset(source, split=config.evol_split, revision=config.evol_revision)
    except Exception as err:
        raise ConfigError(
            f"Cannot load evol_dataset {source!r}: {err}. Give a Hub dataset id (default "
            "theblackcat102/evol-codealpaca-v1) or a local .jsonl/.parquet file with the columns "
            f"{config.evol_instruction_field!r} and {config.evol_response_field!r}."
        ) from err


def _map(row: dict, index: int, instruction_field: str, response_field: str) -> dict:
    instruction = (row.get(instruction_field) or "").strip()
    response = (row.get(response_field) or "").strip()
    reason = "empty_instruction" if not instruction else "empty_response" if not response else None
    return {"raw_index": index, "instruction": instruction, "response": response, "reason": reason}


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir | None = None) -> None:
    source = load_source(config)
    missing = {config.evol_instruction_field, config.evol_response_field} - set(source.column_names)
    if missing:
        raise ConfigError(
            f"evol_dataset {config.evol_dataset!r} has no column(s) {sorted(missing)} (it has {source.column_names}): "
            "set evol_instruction_field / evol_response_field."
        )
    mapped = source.map(
        _map,
        with_indices=True,
        fn_kwargs={"instruction_field": config.evol_instruction_field, "response_field": config.evol_response_field},
        remove_columns=source.column_names,
        desc="evol: map to instruction/response",
    )
    counter = DropCounter.of_reasons(mapped["reason"])
    kept = mapped.filter(lambda r: r["reason"] is None, desc="evol: keep").remove_columns("reason")
    rejects = mapped.filter(lambda r: r["reason"] is not None, desc="evol: rejects")
    kept = with_index(kept).select_columns(COLUMNS)
    source_info = {"dataset": config.evol_dataset, "revision": config.evol_revision, "split": config.evol_split}
    run_dir.save(kept, rejects, counter, source=source_info)
    logger.info("evol: %s of %d rows -> %s", counter.summary(), len(source), run_dir.dataset_path)


class Evol(Stage):
    """Maps the Evol-Instruct data to `instruction, response`, dropping empty rows."""

    name = "evol"
    version = 1
    run = staticmethod(run)

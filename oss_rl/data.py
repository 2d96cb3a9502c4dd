"""GRPO's prompts: a verified build's rows -> the Magicoder prompt (as `train_sft.py` trains it) with the row's
`tests` and `lang`, which the code reward reads. DPO's pairs: the build's `preference` config as published."""

from __future__ import annotations

import logging

from oss_common.template import OSS_INSTRUCTION
from oss_sft.data import DataError, detect_format, load_one

logger = logging.getLogger(__name__)

NEEDED = ("tests", "lang")


def to_prompt(row: dict, question: str) -> dict:
    problem = row[question]
    text = OSS_INSTRUCTION.format(problem=problem) if question == "problem" else problem
    return {"prompt": [{"role": "user", "content": text}], "tests": row["tests"], "lang": row["lang"]}


def load_prompts(name: str, config: str | None, split: str, revision: str | None, only_passing: bool, max_rows):
    """The verified build's rows as conversational prompts with `tests` and `lang`; never empty."""
    dataset = load_one(name, config, split, revision)
    missing = [column for column in NEEDED if column not in dataset.column_names]
    if missing:
        raise DataError(
            f"{name} has no {' or '.join(f'`{c}`' for c in missing)} column: the code reward runs each row's tests. "
            "Train on a verified build (`python -m dataset_builder build --pipeline oss_instruct_verified`, or "
            "`python -m dataset_builder verify` on an existing dataset)."
        )
    question = "problem" if detect_format(dataset.column_names) == "oss_instruct" else "instruction"
    rows = len(dataset)
    if only_passing and "exec_status" in dataset.column_names:
        dataset = dataset.filter(lambda row: row["exec_status"] == "pass")
    dataset = dataset.filter(lambda row: bool(row["tests"]))
    if max_rows is not None:
        dataset = dataset.select(range(min(max_rows, len(dataset))))
    if not len(dataset):
        raise DataError(
            f"{name}: none of its {rows} rows has tests{' and passed' if only_passing else ''}; "
            "nothing to train on (only_passing: false keeps rows that failed)."
        )
    keep = [question, *NEEDED]
    prompts = dataset.select_columns(keep).map(to_prompt, fn_kwargs={"question": question}, remove_columns=[question])
    logger.info("GRPO prompts: %d of %d rows (languages: %s)", len(prompts), rows, sorted(set(prompts["lang"])))
    return prompts


PAIR_COLUMNS = ("prompt", "chosen", "rejected")


def load_pairs(name: str, config: str | None, split: str, revision: str | None, max_rows):
    """The (prompt, chosen, rejected) rows of a verified build's `preference` config (or any dataset in TRL's
    preference format); never empty."""
    try:
        dataset = load_one(name, config, split, revision)
    except ValueError as err:  # `datasets` names the configs a Hub-layout folder or repo has
        if config and config in str(err):
            raise DataError(
                f"{name} has no {config!r} config ({err}). Build it with several solutions per problem "
                "(`solutions_per_problem: 10`, `verify_keep: best`): publish then writes the preference pairs."
            ) from err
        raise
    missing = [column for column in PAIR_COLUMNS if column not in dataset.column_names]
    if missing:
        raise DataError(
            f"{name} (config {config}) has no {', '.join(missing)} column: DPO trains on (prompt, chosen, rejected) "
            "pairs, the `preference` config of a build with several solutions per problem."
        )
    if max_rows is not None:
        dataset = dataset.select(range(min(max_rows, len(dataset))))
    logger.info("DPO pairs: %d", len(dataset))
    return dataset.select_columns(list(PAIR_COLUMNS))

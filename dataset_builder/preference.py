"""The published dataset's `preference` config: DPO pairs from problems with passing and failing solutions.

With several solutions per problem (`solutions_per_problem` > 1) each published row carries every answer
(`samples`) and its status (`samples_status`). A problem with at least one passing and one failing answer gives up to
`preference_pairs_per_problem` pairs, each answer used at most once, so no problem dominates: the chosen answers are
the row's kept sample first, then the other passing ones; the rejected answers are those that ran and failed first
(fail, runtime_error, compile_error, timeout, tests_incomplete, ...), then the ones cut at max_tokens or without code
(the easiest to tell apart). Samples that never ran (`no_toolchain`, `unsupported_language`) are neither. The prompt is
the Magicoder training prompt (`oss_common.template.OSS_INSTRUCTION` around the problem), in TRL's conversational
preference format: `prompt` (a user message), `chosen` and `rejected` (an assistant message each), plus `raw_index`,
`lang`, `chosen_sample`, `rejected_sample` and `rejected_status` to trace a pair back to its row.
"""

from __future__ import annotations

from collections import Counter

from oss_common.template import OSS_INSTRUCTION

NOT_ANSWERS = ("solution_truncated", "no_solution_code")  # rejected last: trivially worse than a real attempt


def has_samples(columns) -> bool:
    return {"samples", "samples_status", "kept_sample"} <= set(columns)


def choose(statuses: list[str], kept: int, per_problem: int) -> list[tuple[int, int]]:
    """(chosen, rejected) sample pairs of one problem."""
    from dataset_builder.execution.executor import NOT_RUN

    chosen = [kept] if statuses[kept] == "pass" else []
    chosen += [i for i, status in enumerate(statuses) if status == "pass" and i != kept]
    failed = [i for i, status in enumerate(statuses) if status not in ("pass", *NOT_RUN, *NOT_ANSWERS)]
    failed += [i for i, status in enumerate(statuses) if status in NOT_ANSWERS]
    return list(zip(chosen, failed, strict=False))[:per_problem]  # as many pairs as the shorter list


def pairs(dataset, per_problem: int):
    """The `preference` rows of a published dataset (None when it has no samples or no pair qualifies), and
    {"problems", "pairs", "by_rejected_status"}."""
    from datasets import Dataset

    from dataset_builder.stages.decontaminate import text_columns

    if per_problem < 1 or not has_samples(dataset.column_names):
        return None, {}
    question, _ = text_columns(dataset.column_names)
    rows, seen, rejected = [], set(), Counter()
    columns = ["raw_index", "lang", question, "samples", "samples_status", "kept_sample"]
    for row in dataset.select_columns(columns):
        if row["raw_index"] in seen:  # `verify_keep: diverse`: a problem's other rows carry the same samples
            continue
        seen.add(row["raw_index"])
        text = OSS_INSTRUCTION.format(problem=row[question]) if question == "problem" else row[question]
        for good, bad in choose(row["samples_status"], row["kept_sample"], per_problem):
            rows.append(
                {
                    "prompt": [{"role": "user", "content": text}],
                    "chosen": [{"role": "assistant", "content": row["samples"][good]}],
                    "rejected": [{"role": "assistant", "content": row["samples"][bad]}],
                    "raw_index": row["raw_index"],
                    "lang": row["lang"],
                    "chosen_sample": good,
                    "rejected_sample": bad,
                    "rejected_status": row["samples_status"][bad],
                }
            )
            rejected[row["samples_status"][bad]] += 1
    stats = {
        "problems": len({row["raw_index"] for row in rows}),
        "pairs": len(rows),
        "by_rejected_status": dict(rejected.most_common()),
    }
    return (Dataset.from_list(rows) if rows else None), stats

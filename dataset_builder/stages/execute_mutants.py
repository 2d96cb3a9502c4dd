"""The execute stage's mutation run (`mutants_per_row: K`): how strong each passing row's tests are.

A row whose tests pass is run again, with the same tests, against K mutants of its solution (`execution.mutation`).
A mutant is killed when its run is not `pass`; one that is identical to the solution or does not compile is not
valid and counts for nothing. Each row gets `tests_mutants` (valid mutants), `tests_killed`, `tests_mutants_invalid`
and `tests_mutation_score` (killed / valid; null when the row did not pass or has no valid mutant). Tests that kill
no mutant (score 0) check nothing the solution does, like `assert 0 == 0`: they are logged and counted in the stats.

Mutant runs are journaled one by one (`mutants.jsonl`, keyed `<raw_index>.m<n>`), like the rows' results: a `kill -9`
loses nothing and a rerun runs no stored mutant again.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterator

from oss_common.journal import Journal

logger = logging.getLogger(__name__)

MUTATION_COLUMNS = {
    "tests_mutants": "int64",
    "tests_killed": "int64",
    "tests_mutants_invalid": "int64",
    "tests_mutation_score": "float64",
}
REASON = "mutation_score"  # the rejects' reason of rows under `min_mutation_score`
BINS = ("0", "(0, 0.5)", "[0.5, 1)", "1")  # the score's distribution in the stats and the card
ZERO_SHOWN = 20  # raw_index of the first rows whose tests kill nothing, in the stats and the log


def mutant_key(raw_index: int, index: int) -> str:
    return f"{raw_index}.m{index}"


def bin_of(score: float) -> str:
    return BINS[0] if score == 0 else BINS[3] if score == 1 else BINS[1] if score < 0.5 else BINS[2]


def _scored_rows(rows, results: dict, solution_column: str) -> Iterator[tuple[int, str, str, str]]:
    """(raw_index, language, solution, tests) of each row whose tests pass: the rows that get mutants."""
    from dataset_builder.stages.execute import solution_code

    for row in rows:
        if results[row["raw_index"]]["exec_status"] == "pass":
            yield row["raw_index"], row["lang"], solution_code(row, solution_column), row["tests"] or ""


def run(k: int, run_dir, executor, rows, results: dict, solution_column: str) -> dict[int, dict]:
    """Run the passing rows' mutants (those not journaled yet) and return {raw_index: the row's mutation columns}.
    Mutants are made again from the rows when needed (deterministic), never all held at once."""
    from tqdm.auto import tqdm

    from dataset_builder.execution.executor import Job
    from dataset_builder.execution.mutation import mutants

    journal = Journal(run_dir.path / "mutants.jsonl", key="mutant")
    with journal:
        made = {}  # raw_index -> [(key, mutator, valid)]: the row's mutants without their text
        for key, language, solution, _ in _scored_rows(rows, results, solution_column):
            made[key] = [(mutant_key(key, m.index), m.mutator, m.valid) for m in mutants(key, solution, language, k)]
        pending = sum(valid and name not in journal.done for ms in made.values() for name, _, valid in ms)
        logger.info(
            "execute: mutants of %d passing rows: %d run before, %d to run", len(made), len(journal.done), pending
        )

        def jobs():
            for key, language, solution, tests in _scored_rows(rows, results, solution_column):
                for m in mutants(key, solution, language, k):
                    name = mutant_key(key, m.index)
                    if m.valid and name not in journal.done:
                        yield Job(name, language, m.text, tests)

        with tqdm(total=pending, desc="mutants", unit="mutant") as progress:
            for job, result in executor.run(jobs()):
                journal.append(
                    {"mutant": job.key, "exec_status": result.status, "stage": result.stage, "seconds": result.seconds}
                )
                executor.forget(job.key)
                progress.update()
        stored = {row["mutant"]: row for row in journal.rows()}
    return {key: columns(ms, stored) for key, ms in made.items()}


def columns(made: list[tuple[str, str, bool]], stored: dict) -> dict:
    """One row's mutation columns from its mutants and their journaled runs."""
    valid = killed = invalid = 0
    by_mutator: Counter = Counter()
    for name, mutator, ok in made:
        run_ = stored.get(name)
        if not ok or run_ is None or run_["stage"] == "compile":
            invalid += 1
            by_mutator[f"{mutator}/invalid"] += 1  # which mutators make code that does not compile, in the stats
            continue
        valid += 1
        by_mutator[f"{mutator}/valid"] += 1
        if run_["exec_status"] != "pass":
            killed += 1
            by_mutator[f"{mutator}/killed"] += 1
    score = killed / valid if valid else None
    return {
        "tests_mutants": valid,
        "tests_killed": killed,
        "tests_mutants_invalid": invalid,
        "tests_mutation_score": score,
        "_by_mutator": by_mutator,
    }


def row_columns(raw_indexes, scored: dict[int, dict]) -> dict[str, list]:
    """The dataset's mutation columns, in the rows' order (null for rows that did not pass)."""
    empty = dict.fromkeys(MUTATION_COLUMNS)
    return {name: [scored.get(key, empty)[name] for key in raw_indexes] for name in MUTATION_COLUMNS}


def reasons(scores: list[float | None], min_score: float | None) -> list[str | None]:
    """`mutation_score` for each row under `min_score` (a row without a score is not judged), else None."""
    if min_score is None:
        return [None] * len(scores)
    return [REASON if score is not None and score < min_score else None for score in scores]


def stats(k: int, min_score, languages: list[str], raw_indexes, scored: dict, removed: list[bool]) -> dict:
    """The stats.json entry `mutation`: per language the rows scored, mutants, kills and the score's distribution;
    per mutator valid and killed mutants; the rows whose tests kill nothing; the rows `min_mutation_score` removed."""
    by_language: dict[str, dict] = {}
    mutators: Counter = Counter()
    zero = []
    for lang, key, gone in zip(languages, raw_indexes, removed, strict=True):
        if key not in scored:
            continue
        row = scored[key]
        entry = by_language.setdefault(
            lang,
            {"rows": 0, "unscored": 0, "mutants": 0, "killed": 0, "invalid": 0, "removed": 0, "bins": {}},
        )
        entry["mutants"] += row["tests_mutants"]
        entry["killed"] += row["tests_killed"]
        entry["invalid"] += row["tests_mutants_invalid"]
        entry["removed"] += gone
        mutators.update(row["_by_mutator"])
        score = row["tests_mutation_score"]
        if score is None:
            entry["unscored"] += 1
            continue
        entry["rows"] += 1
        entry["bins"][bin_of(score)] = entry["bins"].get(bin_of(score), 0) + 1
        if score == 0:
            zero.append(key)
    for entry in by_language.values():
        entry["bins"] = {name: entry["bins"].get(name, 0) for name in BINS}
    per_mutator: dict[str, dict] = defaultdict(dict)
    for name, n in sorted(mutators.items()):
        mutator, what = name.split("/")
        per_mutator[mutator][what] = n
    if zero:
        logger.warning(
            "execute: the tests of %d passing rows kill no mutant (score 0: their checks may never call the "
            "solution, like `assert 0 == 0`); raw_index %s%s",
            len(zero),
            ", ".join(map(str, zero[:ZERO_SHOWN])),
            " ..." if len(zero) > ZERO_SHOWN else "",
        )
    return {
        "mutants_per_row": k,
        "min_mutation_score": min_score,
        "by_language": dict(sorted(by_language.items())),
        "by_mutator": dict(per_mutator),
        "zero_score_rows": len(zero),
        "zero_score_examples": zero[:ZERO_SHOWN],
    }

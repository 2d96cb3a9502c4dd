"""The dataset card's "Test strength" subsection of Verification: the execute stage's `mutation` stats (written when
`mutants_per_row` was set) as a table per language, what `min_mutation_score` removed, and what the score means."""

from __future__ import annotations

from dataset_builder.execution.mutation import MUTATORS
from dataset_builder.stages.execute_mutants import BINS

MEANING = (
    "Each passing row's tests were run again against mutants of its solution, made by simple deterministic text "
    "mutators ({mutators}); a mutant is *killed* when the tests no longer pass. `tests_mutation_score` is killed / "
    "valid mutants (a mutant identical to the solution or that does not compile is not valid). It measures how "
    "strong the tests are against these mutators only: a high score does not prove the tests or the solution right, "
    "and a score of 0 means the tests noticed none of the changes (their checks may never call the solution)."
)


def _mean(killed: int, mutants: int) -> str:
    return f"{killed / mutants:.2f}" if mutants else "-"


def mutation_section(mutation: dict) -> list[str]:
    """The lines of the subsection, from stats.json's `mutation` entry."""
    k, floor = mutation.get("mutants_per_row"), mutation.get("min_mutation_score")
    lines = [MEANING.format(mutators=", ".join(f"`{name}`" for name in MUTATORS)), ""]
    if mutation.get("figure"):
        lines += [f"![Passing rows per mutation score, per language]({mutation['figure']})", ""]
    header = ["language", "rows scored", "valid mutants", "killed", "killed share", *(f"score {b}" for b in BINS)]
    header += ["no valid mutant", "invalid mutants", "removed"]
    lines += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for lang, entry in sorted((mutation.get("by_language") or {}).items()):
        bins = entry.get("bins") or {}
        cells = [lang, entry["rows"], entry["mutants"], entry["killed"], _mean(entry["killed"], entry["mutants"])]
        cells += [bins.get(b, 0) for b in BINS] + [entry["unscored"], entry["invalid"], entry["removed"]]
        lines.append("| " + " | ".join(f"{c:,}" if isinstance(c, int) else str(c) for c in cells) + " |")
    lines += ["", f"- Mutants per passing row (`mutants_per_row`): {k}"]
    by_mutator = mutation.get("by_mutator") or {}
    if by_mutator:
        shown = ", ".join(
            f"`{name}` {counts.get('killed', 0)}/{counts.get('valid', 0)} ({counts.get('invalid', 0)} not valid)"
            for name, counts in sorted(by_mutator.items())
        )
        lines.append(f"- Killed / valid mutants per mutator: {shown}")
    zero = mutation.get("zero_score_rows") or 0
    lines.append(f"- Rows whose tests kill no mutant (score 0): {zero:,}")
    removed = sum(entry.get("removed", 0) for entry in (mutation.get("by_language") or {}).values())
    if floor is None:
        lines.append("- `min_mutation_score`: not set (no row was removed for its score)")
    else:
        lines.append(
            f"- `min_mutation_score: {floor}`: {removed:,} rows whose tests scored lower were removed (the execute "
            "stage's `rejects/`, reason `mutation_score`); rows without a valid mutant were kept"
        )
    return lines

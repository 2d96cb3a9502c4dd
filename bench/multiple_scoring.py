"""Benchmark: seconds per program of MultiPL-E scoring through the real bigcode harness, in the sandbox, per language.

What `python -m eval` runs after generating: the harness (`make harness`) scores a generations file inside
bubblewrap (`eval.bigcode.run_task` with `load_generations_path`), on the three problems of tests/fixtures/multipl-e
with known-correct programs (tests/multiple_solutions.py), each sample made distinct by a comment (the harness
caches identical programs). Each language runs twice, with 1 and with --samples samples per problem, in fresh
folders; the difference removes the harness's fixed cost (imports, data) and gives the seconds per program with
--workers scoring threads. Printed: a table per language, and the paper's settings (161 problems x 50 samples)
turned into hours on the given core counts, assuming the threads scale (one compiler or interpreter each).

    python -m bench.multiple_scoring [--languages cpp java js php rs] [--samples 4] [--workers 1] [--cores 8 32]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "multipl-e"
TASKS = {"cpp": "multiple-cpp", "java": "multiple-java", "js": "multiple-js", "php": "multiple-php"}
TASKS["rs"] = "multiple-rust"
PAPER_PROBLEMS, PAPER_SAMPLES = 161, 50  # MultiPL-E HumanEval (cpp/js/php; 156-158 others), eval/bigcode_tasks.py


def score(language: str, samples: int, workers: int, folder: Path) -> tuple[float, float]:
    """(wall seconds, pass@1) of scoring 3 problems x `samples` distinct correct programs."""
    from eval import bigcode
    from tests.multiple_solutions import CORRECT

    rows = [json.loads(line) for line in (FIXTURE / f"humaneval-{language}" / "test.jsonl").open()]
    gens = [
        [row["prompt"] + body + f"\n// sample {j}" for j in range(samples)]
        for row, body in zip(rows, CORRECT[language], strict=True)
    ]
    path = folder / "gens.json"
    path.write_text(json.dumps(gens))
    start = time.perf_counter()
    entry = bigcode.run_task(
        TASKS[language],
        "bench",
        harness_dir=None,
        out_dir=folder / "out",
        load_generations_path=path,
        offline_data=FIXTURE,
        workers=workers,
    )
    return time.perf_counter() - start, entry["scores"]["pass@1"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cores", type=int, nargs="+", default=[8, 32])
    args = parser.parse_args(argv)
    rows = []
    for language in args.languages:
        # folders the sandbox's uid can enter, as the tests' `build` fixture makes them
        with (
            tempfile.TemporaryDirectory(prefix="oss-bench-") as one,
            tempfile.TemporaryDirectory(prefix="oss-bench-") as many,
        ):
            for folder in (one, many):
                Path(folder).chmod(0o711)
            t1, p1 = score(language, 1, args.workers, Path(one))
            tn, pn = score(language, args.samples, args.workers, Path(many))
        per_program = (tn - t1) / (3 * (args.samples - 1))
        rows.append((language, t1, tn, per_program, p1, pn))
        print(f"{language}: {t1:.1f} s for 3 programs, {tn:.1f} s for {3 * args.samples}", file=sys.stderr)

    print(f"\nMultiPL-E scoring in the sandbox, {args.workers} thread(s), 3 problems x 1 and x {args.samples} samples")
    print(f"| language | wall, 3 programs | wall, {3 * args.samples} programs | s / program | pass@1 |")
    print("|---|---|---|---|---|")
    for language, t1, tn, per, p1, pn in rows:
        print(f"| {language} | {t1:.1f} | {tn:.1f} | {per:.2f} | {p1:.2f}, {pn:.2f} |")
    programs = PAPER_PROBLEMS * PAPER_SAMPLES
    threads = {cores: max(1, cores - 1) for cores in args.cores}  # the harness's default: cpu_count() - 1
    print(
        f"\nThe paper's settings: {PAPER_PROBLEMS} problems x {PAPER_SAMPLES} samples = {programs} programs a language"
    )
    print(
        "| language | hours, 1 thread | "
        + " | ".join(f"hours, {c} cores ({t} threads)" for c, t in threads.items())
        + " |"
    )
    print("|---|---|" + "---|" * len(threads))
    for language, _, _, per, _, _ in rows:
        hours = programs * per / 3600
        print(
            f"| {language} | {hours:.1f} | "
            + " | ".join(f"{hours * args.workers / t:.2f}" for t in threads.values())
            + " |"
        )
    return 0 if all(p1 == pn == 1.0 for *_, p1, pn in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

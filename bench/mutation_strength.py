"""Benchmark: how the whole-file mutants (`dataset_builder.execution.mutation`) fare on code nobody here wrote.

The external benchmarks' references and their own tests (the fixtures in tests/fixtures/external, or `--data`) go
through the executor under bubblewrap; each passing reference then gets K mutants, run with its tests as the execute
stage's `mutants_per_row` does. Printed per benchmark and language: references, mutants made, not valid (identical,
or not compiling), valid, killed, and the mutators of the survivors. Survivors are weak tests or equivalent mutants
(a change that does not change behaviour); this benchmark cannot tell which.

    python -m bench.mutation_strength [--rows 8] [--mutants 5] [--data DIR] [--languages python cpp ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

SETS = (
    ("humaneval-x", "python"),
    ("humaneval-x", "cpp"),
    ("humaneval-x", "java"),
    ("humaneval-x", "rust"),
    ("mbxp", "php"),
    ("mbxp", "csharp"),
    ("mbxp", "typescript"),
)


def measure(executor, problems, k: int) -> dict:
    from dataset_builder.execution.executor import Job
    from dataset_builder.execution.mutation import mutants

    jobs = [p.job(i) for i, p in enumerate(problems)]
    passed = [job for job, result in executor.run(jobs) if result.status == "pass"]
    made = {
        f"{job.key}.m{m.index}": (job, m) for job in passed for m in mutants(job.key, job.solution, job.language, k)
    }
    runs = (Job(key, job.language, m.text, job.tests) for key, (job, m) in made.items() if m.valid)
    results = {job.key: result for job, result in executor.run(runs)}
    valid = {key: r for key, r in results.items() if r.stage != "compile"}
    return {
        "references": len(problems),
        "passed": len(passed),
        "mutants": len(made),
        "not_valid": len(made) - len(valid),
        "valid": len(valid),
        "killed": sum(r.status != "pass" for r in valid.values()),
        "survivors": Counter(made[key][1].mutator for key, r in valid.items() if r.status == "pass"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8, help="usable references per benchmark and language")
    parser.add_argument("--mutants", type=int, default=5, help="mutants per passing reference")
    parser.add_argument("--data", type=Path, default=None, help="the benchmarks' folder (default: the fixtures)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--languages", nargs="+", default=None, help="only these (default: every set)")
    args = parser.parse_args(argv)
    from bench.external.loaders import fixtures_dir, load
    from dataset_builder.execution import toolchains
    from dataset_builder.execution.executor import Executor
    from dataset_builder.execution.sandbox import Bwrap, Limits

    sandbox = Bwrap()
    sandbox.check()
    print(f"{args.mutants} mutants per passing reference, bubblewrap, {args.workers} workers")
    print("{:<12} {:<11} {:>5} {:>6} {:>8} {:>9} {:>6} {:>7}  survivors".format(
        "benchmark", "language", "refs", "passed", "mutants", "not valid", "valid", "killed"))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="oss-bench-mutation-") as tmp:
        os.chmod(tmp, 0o755)  # as root the sandbox's slot uids must reach the rows' folders
        limits, compile_limits = Limits(wall_seconds=30, cpu_seconds=20), Limits(wall_seconds=180, cpu_seconds=120)
        executor = Executor(sandbox, limits, compile_limits, args.workers, Path(tmp))
        for benchmark, language in SETS:
            if args.languages and language not in args.languages:
                continue
            problems = [p for p in load(args.data or fixtures_dir(), benchmark, language) if p.excluded is None]
            if not problems or toolchains.find(problems[0].executor_language) is None:
                print(f"{benchmark:<12} {language:<11} no usable references or no toolchain")
                continue
            got = measure(executor, problems[: args.rows], args.mutants)
            share = f"{100 * got['killed'] / got['valid']:.0f}%" if got["valid"] else "-"
            print(
                f"{benchmark:<12} {language:<11} {got['references']:>5} {got['passed']:>6} {got['mutants']:>8} "
                f"{got['not_valid']:>9} {got['valid']:>6} {got['killed']:>3} {share:>4}  {dict(got['survivors'])}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

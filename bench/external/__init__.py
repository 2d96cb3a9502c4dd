"""External benchmarks (HumanEval-X, MBXP) as a check of the verification executor on code nobody here wrote.

- `loaders`: each benchmark row as a `Problem`: the reference solution and tests in the project's layout (a
  `dataset_builder.execution.executor.Job`), the same row as one file for the benchmark's own harness, or the
  reason it is excluded.
- the mutants of a reference body (default return, flipped comparison, off-by-one) are the builder's
  (`dataset_builder.execution.mutators`), which the execute stage's `mutants_per_row` extends to whole files.
- `harness`: the benchmark's own single-file harness, run with the same toolchain binaries in the same sandbox.
- `bench/external_benchmarks.py`: runs whole sets and writes `bench/results/external_benchmarks.{md,json}`.
"""

"""Recipe fields: execution verification (pipelines oss_instruct_verified and verify): the tests stage's requests and
the execute stage's sandbox, limits, workers and what it keeps. New execution knobs go here."""

from __future__ import annotations

from dataclasses import dataclass, field

from dataset_builder.config_base import _help


@dataclass
class ExecutionFields:
    tests_max_tokens: int = field(
        default=1500, metadata=_help("Most completion tokens of one test-writing request.", "tests")
    )
    expected_tests_completion_tokens: int = field(
        default=400,
        metadata=_help(
            "Dry run: completion tokens per test-writing request assumed until 20 rows have been answered."
        ),
    )
    sandbox: str = field(
        default="bwrap",
        metadata=_help(
            "Where solutions and tests run: bwrap (bubblewrap: new namespaces, no network, read-only system, empty "
            "environment) or none (no isolation: only for code you trust; warned about and recorded in the card).",
            "execute",
        ),
    )
    exec_timeout: float = field(
        default=10.0,
        metadata=_help("Wall-clock seconds for running one row's tests (the whole process tree).", "execute"),
    )
    exec_compile_timeout: float = field(
        default=60.0, metadata=_help("Wall-clock seconds for compiling one row (compiled languages).", "execute")
    )
    exec_memory_mb: int = field(
        default=2048, metadata=_help("Memory per process in MiB (RLIMIT_DATA: heap and private mappings).", "execute")
    )
    exec_workers: int | None = field(
        default=None, metadata=_help("Rows compiled and run at once (default: one per CPU core).")
    )
    typescript_typecheck: str = field(
        default="report",
        metadata=_help(
            "TypeScript rows: report (tsc's type errors are printed at the end of exec_output and the emitted "
            "JavaScript runs, as MBXP's harness does; only a syntax error stops the row) or strict (a type error is "
            "a compile_error).",
            "execute",
        ),
    )
    verify_keep: str = field(
        default="passed",
        metadata=_help(
            "passed: keep the rows whose (first) solution passes its tests (the rest go to rejects/ with their "
            "exec_status as reason); all: keep every row with its exec_status, to filter later; with "
            "solutions_per_problem > 1 also best: one passing solution per problem (the first that passes), and "
            "diverse: every passing solution that is not a near-duplicate of one kept before it (one row each).",
            "execute",
        ),
    )
    solutions_per_problem: int = field(
        default=1,
        metadata=_help(
            "Solutions executed per problem: the generate stage's (the paper's greedy answer, sample 0) plus N-1 more "
            "asked of the teacher for the parsed problem at solutions_temperature (stage `solutions`); each row "
            "gets pass_rate, samples_status and kept_sample. 1: no extra request, today's run folders.",
            "solutions",
        ),
    )
    solutions_temperature: float = field(
        default=0.7,
        metadata=_help("Sampling temperature of the extra solutions (SelfCodeAlign samples 10 at 0.7).", "solutions"),
    )
    tests_from: str = field(
        default="solution",
        metadata=_help(
            "What the test-writing request shows the teacher: solution (the problem and its first solution, as "
            "before) or problem (the problem alone, so the tests are not fitted to one answer).",
            "tests",
        ),
    )
    diverse_threshold: float = field(
        default=0.8,
        metadata=_help(
            "verify_keep: diverse: two passing solutions of one problem are near-duplicates when the estimated "
            "Jaccard similarity of their code's token 3-grams (MinHash, datasketch) is at least this.",
            "execute",
        ),
    )
    mutants_per_row: int = field(
        default=0,
        metadata=_help(
            "Mutants per passing row to score its tests (`tests_mutation_score`: killed / valid mutants of the "
            "solution, made by flipping a comparison, a constant +-1, a default return or a removed statement); 0: "
            "off.",
            "execute",
        ),
    )
    min_mutation_score: float | None = field(
        default=None,
        metadata=_help(
            "Rows whose tests kill fewer than this share of their valid mutants go to rejects/ (reason "
            "`mutation_score`, with verify_keep: all too); rows without a valid mutant are kept. Needs "
            "mutants_per_row > 0.",
            "execute",
        ),
    )

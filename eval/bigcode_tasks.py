"""The paper's settings for MultiPL-E, DS-1000 and APPS, per task, and the harness arguments they make.

APPS: the 300-problem subset is the first 60 introductory, 180 interview and 60 competition problems of the
`codeparrot/apps` test split in the harness's order (`--limit N` from `--limit_start 0`; its metric loads the same
split per difficulty and scores generation i against problem i). Greedy pass@1 is the APPS metric's
`strict_accuracy` (every test case passes).
"""

from __future__ import annotations

from dataclasses import dataclass

PRECISIONS = ("fp32", "fp16", "bf16")
SEED = 0  # the harness's default, passed explicitly so that it is recorded


@dataclass(frozen=True)
class BigcodeTask:
    name: str
    harness_tasks: dict[str, int | None]  # harness task -> problems it takes (--limit), None for all
    n_samples: int
    max_length_generation: int  # the harness's budget for prompt + generation
    temperature: float | None = None  # None: greedy
    top_p: float | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature is None


def _multiple(language: str, harness_language: str) -> BigcodeTask:
    return BigcodeTask(f"MultiPL-E HumanEval {language}", {f"multiple-{harness_language}": None}, 50, 512, 0.2, 0.95)


APPS_SUBSET = {"apps-introductory": 60, "apps-interview": 180, "apps-competition": 60}
APPS_SUBSET_NOTE = (
    "APPS test split: the first 60 introductory, 180 interview and 60 competition problems in the harness's order"
)
BIGCODE_TASKS: dict[str, BigcodeTask] = {
    "multiple-java": _multiple("Java", "java"),
    "multiple-js": _multiple("JavaScript", "js"),
    "multiple-cpp": _multiple("C++", "cpp"),
    "multiple-php": _multiple("PHP", "php"),
    "multiple-swift": _multiple("Swift", "swift"),
    "multiple-rust": _multiple("Rust", "rs"),
    "ds1000": BigcodeTask("DS-1000 (completion, all libraries)", {"ds1000-all-completion": None}, 40, 1024, 0.2, 0.5),
    # Greedy and zero-shot (the harness's APPS prompt has no examples). The paper gives no length: APPS statements
    # are long and the harness counts the prompt in --max_length_generation, so 2048 leaves room for the answer.
    "apps": BigcodeTask("APPS (300-problem test subset)", APPS_SUBSET, 1, 2048),
}


def task_spec(task_key: str) -> BigcodeTask:
    """The paper's settings of one of our bigcode benchmarks."""
    if task_key not in BIGCODE_TASKS:
        raise ValueError(f"unknown bigcode benchmark {task_key!r}: choose from {', '.join(BIGCODE_TASKS)}")
    return BIGCODE_TASKS[task_key]


def task_settings(
    task_key: str,
    harness_task: str,
    model: str,
    *,
    revision: str | None = None,
    precision: str = "bf16",
    batch_size: int | None = None,
    limit: int | None = None,
    n_samples: int | None = None,
) -> dict:
    """The harness arguments that move scores, by the harness's own names (as its metric JSON's `config` records
    them). `limit` caps the problems of every harness task; `n_samples` and `batch_size` override the defaults."""
    spec = task_spec(task_key)
    if harness_task not in spec.harness_tasks:
        raise ValueError(f"{task_key} runs harness task(s) {', '.join(spec.harness_tasks)}, not {harness_task!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    n = spec.n_samples if n_samples is None else n_samples
    if spec.greedy and n != 1:
        raise ValueError(f"{task_key} is greedy: one sample per problem, not {n}")
    # The harness's batch is the number of sequences returned for one prompt; greedy decoding returns one.
    batch = (1 if spec.greedy else n) if batch_size is None else batch_size
    if spec.greedy and batch != 1:
        raise ValueError(f"{task_key} is greedy: batch_size must be 1 (the harness batches samples of one prompt)")
    if n < 1 or batch < 1 or (limit is not None and limit < 1):
        raise ValueError("n_samples, batch_size and limit must be at least 1")
    subset = spec.harness_tasks[harness_task]
    limits = [x for x in (subset, limit) if x is not None]
    settings = {
        "tasks": harness_task,
        "model": model,
        "revision": revision,
        "do_sample": not spec.greedy,
        "n_samples": n,
        "batch_size": batch,
        "max_length_generation": spec.max_length_generation,
        "precision": precision,
        "limit": min(limits) if limits else None,
        "seed": SEED,
    }
    if not spec.greedy:
        settings |= {"temperature": spec.temperature, "top_p": spec.top_p}
    return settings


def benchmark_settings(
    task_key: str,
    *,
    revision: str | None = None,
    precision: str = "bf16",
    batch_size: int | None = None,
    limit: int | None = None,
    n_samples: int | None = None,
) -> dict:
    """What every harness task of `task_key` runs with (`task_settings` less the task, the model and the per-task
    limit), the `limit` asked for and whether it is greedy: the settings its results.json entry records."""
    spec = task_spec(task_key)
    options = {"revision": revision, "precision": precision, "batch_size": batch_size, "n_samples": n_samples}
    settings = task_settings(task_key, next(iter(spec.harness_tasks)), None, limit=limit, **options)
    shared = {k: v for k, v in settings.items() if k not in ("tasks", "model", "limit")}
    return {**shared, "limit": limit, "greedy": spec.greedy}


def settings_slug(settings: dict) -> str:
    """The folder name of a benchmark run with these `benchmark_settings`: everything in them that moves scores."""
    if settings["greedy"]:
        decoding = "greedy"
    else:
        decoding = f"t{settings['temperature']:g}-p{settings['top_p']:g}-n{settings['n_samples']}"
    slug = f"bigcode-{settings['precision']}-bs{settings['batch_size']}-{decoding}"
    slug += f"-max{settings['max_length_generation']}"
    return slug + (f"-limit{settings['limit']}" if settings["limit"] else "")

"""MultiPL-E, DS-1000 and APPS through bigcode-evaluation-harness, with the paper's settings (`eval/bigcode_tasks.py`).

The harness comes from PyPI (`make harness`: nvidia-bigcode-eval, which ships its `bigcode_eval` module, in
.venv-harness, with `eval/bigcode_harness/main.py` as its `main.py`), or from a git clone (`--harness_dir`). This
module builds the commands, runs them per harness task (finding the harness: `bigcode_find.py`; one run on the host
or in the sandbox: `bigcode_launch.py`), resumes, and turns the harness's metric JSON
(`eval/bigcode_metrics.py`) into our benchmark entry. Nothing the model wrote runs on this host: the harness generates
with `--generation_only` (it loads the model and executes nothing), then scores the saved samples
(`--load_generations_path`, `--allow_code_execution`) inside the bubblewrap sandbox (no network, only /usr, the
toolchains, the harness's environment and the task's folder, where MultiPL-E's data is laid out). `--harness_sandbox
none` scores on the host instead, as an explicit choice (a warning says so); DS-1000 and APPS need it, because their
scoring downloads data, and then belong in a container.

Scoring only: `load_generations_path` takes a file in the harness's own format (a JSON list with one list of samples
per problem, each sample the whole program: prompt + completion), e.g. from vLLM or an API, and scores it without
loading a model. Offline: `offline_data` lays out the data in each task's folder (`eval/bigcode_data.py`).

    OUT_DIR/<harness task>-<fingerprint>/settings.json                  the settings the fingerprint hashes
    OUT_DIR/<harness task>-<fingerprint>/generations_<harness task>.json  the harness's samples (list per problem)
    OUT_DIR/<harness task>-<fingerprint>/metrics.json                   the harness's scores + its `config`
    OUT_DIR/<harness task>-<fingerprint>/harness.log                    the harness's output
    OUT_DIR/<harness task>-<fingerprint>/tmp/                           its private TMPDIR (MultiPL-E's results)

Resume: finished scores whose `config` records the same settings are read back; saved generations without scores are
only scored; otherwise the task generates, then scores.

APPS runs its three difficulties as three harness tasks; the overall pass@1 weights each by its number of problems.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
from pathlib import Path

from eval import bigcode_data
from eval.bigcode_find import (  # noqa: F401 - re-exported: the names callers and tests know
    HARNESS_PACKAGE,
    HARNESS_URL,
    HARNESS_VENV,
    INSTALL_HELP,
    PACKAGED_HARNESS,
    REPO,
    Harness,
    HarnessMissing,
    find_harness,
    harness_revision,
    sandbox_paths,
)
from eval.bigcode_launch import (  # noqa: F401 - re-exported
    MULTIPLE_TOOLS,
    SCORE_SECONDS_PER_PROGRAM,
    Generations,
    _fresh_tmp,
    _launch,
    _launch_sandboxed,
    check_toolchain,
)
from eval.bigcode_metrics import HarnessError, parse_metrics, same_settings
from eval.bigcode_tasks import APPS_SUBSET_NOTE, benchmark_settings, task_settings, task_spec

logger = logging.getLogger(__name__)

# --- the command -----------------------------------------------------------------------------------------------


def fingerprint(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def run_dir_for(out_dir: str | os.PathLike, settings: dict, scored: str | None = None) -> Path:
    """The folder of one harness task; `scored` (the digest of a generations file scored on its own) is part of its
    name, so that another file is never taken for this one's finished scores."""
    key = settings if scored is None else {**settings, "scored_generations": scored}
    return Path(out_dir).expanduser().resolve() / f"{settings['tasks']}-{fingerprint(key)}"


MODES = ("generate", "score")


def generations_path(run_dir: Path, harness_task: str) -> Path:
    # The harness writes `{splitext(--save_generations_path)[0]}_{task}.json` (main.main with --generation_only,
    # Evaluator.evaluate without).
    return run_dir / f"generations_{harness_task}.json"


def harness_command(
    task_key: str,
    model: str,
    *,
    harness_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    harness_task: str | None = None,
    revision: str | None = None,
    precision: str = "bf16",
    batch_size: int | None = None,
    limit: int | None = None,
    n_samples: int | None = None,
    python: str = sys.executable,
    accelerate: bool = True,
    scored: str | None = None,
    mode: str = "generate",
) -> list[str]:
    """The argv of one harness run with the paper's settings (`harness_task` picks one of APPS's three); `scored`
    as in `run_dir_for`.

    `mode` "generate": `--generation_only` (the harness loads the model, writes its samples and executes nothing; no
    `--allow_code_execution`), through accelerate unless `accelerate` is False. "score": `--allow_code_execution`
    on the saved samples (`--load_generations_path`), with plain python (no model is loaded), for the sandbox.
    No token is ever passed: the harness loads models through huggingface_hub, which reads HF_TOKEN itself."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    spec = task_spec(task_key)
    if harness_task is None:
        if len(spec.harness_tasks) != 1:
            raise ValueError(
                f"{task_key} runs several harness tasks: pick one with harness_task= ({', '.join(spec.harness_tasks)})"
            )
        (harness_task,) = spec.harness_tasks
    settings = task_settings(
        task_key,
        harness_task,
        model,
        revision=revision,
        precision=precision,
        batch_size=batch_size,
        limit=limit,
        n_samples=n_samples,
    )
    run_dir = run_dir_for(out_dir, settings, scored)
    main = str(Path(harness_dir).expanduser().resolve() / "main.py")
    launch = accelerate and mode == "generate"
    argv = [python, "-m", "accelerate.commands.launch", *_launch_threads(), main] if launch else [python, main]
    for name, value in settings.items():
        if value is None:
            continue
        argv += [f"--{name}", str(value)]
    if mode == "generate":
        return argv + [
            "--generation_only",
            "--save_generations",
            "--save_generations_path",
            str(run_dir / "generations.json"),
        ]
    return argv + [
        "--allow_code_execution",
        "--load_generations_path",
        str(generations_path(run_dir, harness_task)),
        "--metric_output_path",
        str(run_dir / "metrics.json"),
    ]


def _finished(metrics_file: Path, task: str, settings: dict) -> dict | None:
    if not metrics_file.is_file():
        return None
    try:
        parsed = parse_metrics(metrics_file, task)
    except (json.JSONDecodeError, HarnessError) as err:
        logger.warning("%s: unreadable scores (%s): scoring again", metrics_file, err)
        return None
    if not same_settings(parsed["config"], settings):
        logger.warning("%s records other settings: scoring again", metrics_file)
        return None
    return parsed


def _saved_generations(path: Path, limit: int | None) -> list | None:
    """The harness's complete generations file, or None (missing, cut short or fewer problems than asked for)."""
    if not path.is_file():
        return None
    try:
        generations = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        logger.warning("%s is not complete JSON (%s): generating again", path, err)
        return None
    if not isinstance(generations, list) or (limit is not None and len(generations) < limit):
        logger.warning("%s does not hold the %s problems asked for: generating again", path, limit)
        return None
    return generations


def run_harness_task(
    generate: list[str] | None,
    score: list[str],
    settings: dict,
    run_dir: Path,
    env: dict | None = None,
    *,
    sandboxed: Harness | None = None,
) -> tuple[dict, int | None]:
    """Scores of one harness task (resumed when possible) and its number of problems.

    The harness first generates on this host with `generate` (`--generation_only`: it loads the model, needs the
    network and the GPU, and executes nothing), then scores the saved samples with `score`: inside bubblewrap with
    `sandboxed`, on this host without it. Saved generations without scores are only scored; `generate` None means
    there is no model (a generations file given to score)."""
    task = settings["tasks"]
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "settings.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    metrics_file = run_dir / "metrics.json"
    gen_file = generations_path(run_dir, task)

    parsed = _finished(metrics_file, task, settings)
    if parsed is not None:
        logger.info("%s: scores found in %s", task, metrics_file)
    else:
        metrics_file.unlink(missing_ok=True)
        saved = _saved_generations(gen_file, settings["limit"])
        if saved is not None:
            logger.info("%s: scoring the saved generations %s", task, gen_file)
        elif generate is None:
            raise HarnessError(f"{task}: {gen_file} is missing or incomplete, and there is no model to generate with")
        else:
            gen_file.unlink(missing_ok=True)
            logger.info("%s: generating (the harness executes nothing in this step)", task)
            if settings.get("precision") == "bf16" and not _has_accelerator():
                logger.warning(
                    "%s: generating in bf16 on a machine without a GPU, which torch runs many times slower than "
                    "fp32 on a CPU: --precision fp32 is what a CPU run wants",
                    task,
                )
            _launch(generate, run_dir, env)
            saved = _saved_generations(gen_file, settings["limit"])
            if saved is None:
                raise HarnessError(f"the harness left no complete {gen_file}: see {run_dir / 'harness.log'}")
        if sandboxed is None:
            logger.warning(
                "%s: scoring on this host without a sandbox (--harness_sandbox none): the model's programs run with "
                "this user's rights and network",
                task,
            )
            _launch(score, run_dir, env)
        else:
            language = bigcode_data.multiple_language(task)
            if language is not None and not (run_dir / "nuprl" / "MultiPL-E").is_dir():
                bigcode_data.export_multiple(run_dir, task, sandboxed.python, env)  # the sandbox has no network
            programs = sum(len(p) for p in saved[: settings["limit"]])
            _launch_sandboxed(score, run_dir, env, sandboxed, programs)
        parsed = parse_metrics(metrics_file, task)
        if not same_settings(parsed["config"], settings):
            raise HarnessError(f"{metrics_file} does not record the settings asked for ({run_dir / 'settings.json'})")
    generations = _saved_generations(gen_file, None)
    n_tasks = len(generations) if generations is not None else settings["limit"]
    if generations is not None and settings["limit"] is not None:
        n_tasks = min(n_tasks, settings["limit"])
    return parsed, n_tasks


def combined_scores(subsets: dict[str, dict]) -> dict[str, float]:
    """One benchmark's scores from its harness tasks' (`{"n_tasks": n, "scores": {...}}` each): APPS weights each
    difficulty by its number of problems; a single task's are its own."""
    if len(subsets) == 1:
        (only,) = subsets.values()
        return only["scores"]
    common = set.intersection(*(set(s["scores"]) for s in subsets.values()))
    total = sum(s["n_tasks"] for s in subsets.values())
    return {k: sum(s["scores"][k] * s["n_tasks"] for s in subsets.values()) / total for k in sorted(common)}


SANDBOXES = ("bwrap", "none")


def check_sandbox(task_key: str, sandbox: str) -> None:
    """Raise before anything runs when `sandbox` is unknown, or is bubblewrap for a benchmark that cannot be scored
    without the network (DS-1000 and APPS: the sandbox has none)."""
    if sandbox not in SANDBOXES:
        raise ValueError(f"harness sandbox must be one of {', '.join(SANDBOXES)}, not {sandbox!r}")
    if sandbox == "bwrap" and task_key in bigcode_data.ONLINE_ONLY:
        raise ValueError(
            f"{task_key} cannot be scored in the sandbox ({bigcode_data.ONLINE_ONLY[task_key]}; the sandbox has no "
            "network): score it with --harness_sandbox none inside a container or VM of its own "
            "(recipes/eval/bigcode_python.yaml), never on a machine you care about"
        )


def _has_accelerator() -> bool:
    """Whether this machine shows an NVIDIA or AMD GPU device (the harness's torch is another venv's: not asked)."""
    return any(Path("/dev").glob("nvidia[0-9]*")) or Path("/dev/kfd").exists()


def _launch_threads() -> list[str]:
    """`accelerate launch` without a config sets OMP_NUM_THREADS=1 for its one process (unless --cpu): torch then
    generates on one core, minutes longer on a CPU machine. Every core this process may use, unless the user set
    OMP_NUM_THREADS."""
    if os.environ.get("OMP_NUM_THREADS"):
        return []
    return ["--num_cpu_threads_per_process", str(max(1, len(os.sched_getaffinity(0))))]


def run_task(
    task_key: str,
    model: str,
    *,
    harness_dir: str | os.PathLike | None,
    out_dir: str | os.PathLike,
    revision: str | None = None,
    precision: str = "bf16",
    batch_size: int | None = None,
    limit: int | None = None,
    n_samples: int | None = None,
    python: str | None = None,
    accelerate: bool = True,
    env: dict | None = None,
    load_generations_path: str | os.PathLike | None = None,
    offline_data: str | os.PathLike | None = None,
    sandbox: str = "bwrap",
    workers: int | None = None,
) -> dict:
    """Run (or resume) one benchmark through the harness and return its entry for results.json.

    `env` adds variables to the harness's environment (which already has ours, HF_TOKEN included).
    `load_generations_path` scores that file (the module docstring) instead of generating: `model` is then only a
    name, and the file's shape sets n_samples and limit. `offline_data` (a MultiPL-E folder) lays out the task's data
    and runs the harness offline. `sandbox` ("bwrap" or "none") is where the saved generations are scored.
    `workers`: MultiPL-E's scoring threads (the harness's own main.py, `make harness`, takes MULTIPLE_WORKERS; by
    default the harness runs cpu_count() - 1)."""
    spec = task_spec(task_key)
    check_sandbox(task_key, sandbox)
    if workers is not None and workers < 1:
        raise ValueError(f"harness workers must be at least 1, not {workers}")
    if offline_data is not None:
        bigcode_data.check_offline(task_key)
    scored = None
    if load_generations_path is not None:
        if len(spec.harness_tasks) != 1:
            raise ValueError(f"{task_key} runs {len(spec.harness_tasks)} harness tasks: score them one by one")
        scored = Generations.read(load_generations_path)
        n_samples, batch_size = scored.n_samples, scored.n_samples
        limit = scored.n_problems if limit is None else min(limit, scored.n_problems)
    # the harness runs in its task's folder: a local model or an out_dir relative to ours would not be found there
    out_dir = Path(out_dir).expanduser().resolve()
    if Path(model).expanduser().exists():
        model = str(Path(model).expanduser().resolve())
    harness = find_harness(harness_dir, python=python)
    from dataset_builder.execution.sandbox import PATH

    for task in spec.harness_tasks:
        check_toolchain(task, PATH if sandbox == "bwrap" else None)
    run_env = {**(env or {}), **(bigcode_data.OFFLINE_ENV if offline_data is not None else {})}
    if workers is not None:
        run_env["MULTIPLE_WORKERS"] = str(workers)
    options = {
        "revision": revision,
        "precision": precision,
        "batch_size": batch_size,
        "limit": limit,
        "n_samples": n_samples,
    }
    subsets = {}
    complete = limit is None
    for task in spec.harness_tasks:
        settings = task_settings(task_key, task, model, **options)
        command = {
            "task_key": task_key,
            "model": model,
            "harness_dir": harness.dir,
            "out_dir": out_dir,
            "harness_task": task,
            "python": harness.python,
            "accelerate": accelerate,
            "scored": scored and scored.sha256,
            **options,
        }
        generate = None if scored is not None else harness_command(**command, mode="generate")
        score = harness_command(**command, mode="score")
        run_dir = run_dir_for(out_dir, settings, scored and scored.sha256)
        run_dir.mkdir(parents=True, exist_ok=True)
        dataset_size = None
        if offline_data is not None:
            dataset_size = bigcode_data.lay_out(run_dir, task, offline_data)
        if scored is not None:
            language = bigcode_data.multiple_language(task)
            size = dataset_size or bigcode_data.HUB_PROBLEMS.get(language or "")
            complete = size is not None and limit >= size
            gen_file = generations_path(run_dir, task)
            if not gen_file.is_file() or gen_file.read_bytes() != scored.path.read_bytes():
                shutil.copyfile(scored.path, gen_file)
        parsed, n_tasks = run_harness_task(
            generate, score, settings, run_dir, run_env, sandboxed=harness if sandbox == "bwrap" else None
        )
        subsets[task] = {
            "n_tasks": n_tasks,
            "scores": parsed["scores"],
            "metrics": parsed["metrics"],
            "run_dir": run_dir.name,
        }

    counts = [s["n_tasks"] for s in subsets.values()]
    scores = combined_scores(subsets)
    settings = benchmark_settings(task_key, **options)
    if scored is not None:
        settings = {**settings, "limit": None if complete else limit, "scored_generations": scored.sha256}
    return {
        "dataset": {
            "name": spec.name,
            "source": harness.source,
            "harness_tasks": list(spec.harness_tasks),
            "n_tasks": sum(counts) if None not in counts else None,
            **({"subset": APPS_SUBSET_NOTE} if task_key == "apps" else {}),
            **({"data": "local copy (offline)"} if offline_data is not None else {}),
        },
        "scores": scores,
        "plus_scores": None,
        "n_samples": settings["n_samples"],
        "complete": complete,
        "settings": settings,
        "subsets": subsets,
    }

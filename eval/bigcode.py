"""MultiPL-E, DS-1000 and APPS through bigcode-evaluation-harness, with the paper's settings (`eval/bigcode_tasks.py`).

The harness is not on PyPI: it is a git clone whose `main.py` is started with `accelerate launch`. This module finds
it, builds that command, runs it once per harness task, resumes, and turns the harness's metric JSON
(`eval/bigcode_metrics.py`) into our benchmark entry. Model output is executed only by the harness itself
(`--allow_code_execution`), never here.

    OUT_DIR/<harness task>-<fingerprint>/settings.json                  the settings the fingerprint hashes
    OUT_DIR/<harness task>-<fingerprint>/generations_<harness task>.json  the harness's samples (list per problem)
    OUT_DIR/<harness task>-<fingerprint>/metrics.json                   the harness's scores + its `config`
    OUT_DIR/<harness task>-<fingerprint>/harness.log                    the harness's output

Resume: finished scores whose `config` records the same settings are read back; saved generations without scores are
scored again with `--load_generations_path` (no generation); otherwise the task runs from the start.

APPS runs its three difficulties as three harness tasks; the overall pass@1 weights each by its number of problems.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from eval.bigcode_metrics import HarnessError, parse_metrics, same_settings
from eval.bigcode_tasks import APPS_SUBSET_NOTE, benchmark_settings, task_settings, task_spec

logger = logging.getLogger(__name__)

HARNESS_URL = "https://github.com/bigcode-project/bigcode-evaluation-harness"
INSTALL_HELP = f"""Install it from its repository (it is not on PyPI), in the environment whose python runs it:
    git clone {HARNESS_URL}
    cd bigcode-evaluation-harness && pip install -e .
then pass its folder as harness_dir (`--harness_dir`) or set BIGCODE_HARNESS_DIR.
MultiPL-E compiles and runs the generated Java, JavaScript, C++, PHP, Swift and Rust programs: run it inside the
harness's MultiPL-E Docker image or install those languages' toolchains (see the harness README). DS-1000 and APPS
execute generated Python: use a sandbox (a container) for every harness run."""


class HarnessMissing(Exception):
    """bigcode-evaluation-harness cannot be found or imported."""


# --- finding the harness ---------------------------------------------------------------------------------------


def find_harness(harness_dir: str | os.PathLike | None = None, *, python: str = sys.executable) -> Path:
    """The harness clone from `harness_dir` or env BIGCODE_HARNESS_DIR, checked: `main.py` is there and `python`
    (the interpreter that will run it) can import `bigcode_eval`."""
    given = harness_dir or os.environ.get("BIGCODE_HARNESS_DIR")
    if not given:
        raise HarnessMissing(
            f"bigcode-evaluation-harness: no harness_dir given and BIGCODE_HARNESS_DIR is unset.\n{INSTALL_HELP}"
        )
    path = Path(given).expanduser().resolve()
    if not (path / "main.py").is_file():
        raise HarnessMissing(
            f"bigcode-evaluation-harness: {path} has no main.py (not a clone of {HARNESS_URL}).\n{INSTALL_HELP}"
        )
    check = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('bigcode_eval') else 1)"
    try:
        found = subprocess.run([python, "-c", check], cwd=path, capture_output=True, text=True)
    except FileNotFoundError as err:
        raise HarnessMissing(f"bigcode-evaluation-harness: no python at {python}.\n{INSTALL_HELP}") from err
    if found.returncode != 0:
        detail = found.stderr.strip().splitlines()[-1:] or ["not found"]
        raise HarnessMissing(
            f"bigcode-evaluation-harness: {python} cannot import bigcode_eval ({detail[0]}).\n{INSTALL_HELP}"
        )
    return path


def harness_revision(harness_dir: Path) -> str:
    """The clone's git commit, read from .git without running git; 'unknown revision' when there is none."""
    git = harness_dir / ".git"
    head = git / "HEAD"
    if not head.is_file():
        return "unknown revision"
    ref = head.read_text(encoding="utf-8").strip()
    if not ref.startswith("ref: "):
        return ref
    name = ref.removeprefix("ref: ")
    loose = git / name
    if loose.is_file():
        return loose.read_text(encoding="utf-8").strip()
    packed = git / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + name):
                return line.split(" ", 1)[0]
    return "unknown revision"


# --- the command -----------------------------------------------------------------------------------------------


def fingerprint(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def run_dir_for(out_dir: str | os.PathLike, settings: dict) -> Path:
    return Path(out_dir).expanduser().resolve() / f"{settings['tasks']}-{fingerprint(settings)}"


def generations_path(run_dir: Path, harness_task: str) -> Path:
    # The harness writes `{splitext(--save_generations_path)[0]}_{task}.json` (Evaluator.evaluate).
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
) -> list[str]:
    """The argv of one harness run with the paper's settings (`harness_task` picks one of APPS's three).

    No token is ever passed: the harness loads models through huggingface_hub, which reads HF_TOKEN itself."""
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
    run_dir = run_dir_for(out_dir, settings)
    main = str(Path(harness_dir).expanduser().resolve() / "main.py")
    argv = [python, "-m", "accelerate.commands.launch", main] if accelerate else [python, main]
    for name, value in settings.items():
        if value is None:
            continue
        argv += [f"--{name}", str(value)]
    return argv + [
        "--allow_code_execution",
        "--save_generations",
        "--save_generations_path",
        str(run_dir / "generations.json"),
        "--metric_output_path",
        str(run_dir / "metrics.json"),
    ]


# --- running ---------------------------------------------------------------------------------------------------


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


def _launch(argv: list[str], run_dir: Path, env: dict | None) -> None:
    """Run the harness in run_dir, streaming its output to ours and to harness.log."""
    run_env = {**os.environ, **(env or {})}
    # MultiPL-E scores every *.results.json in the temp dir: a fresh one per run keeps other runs out.
    tmp = run_dir / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    run_env["TMPDIR"] = str(tmp)
    log_path = run_dir / "harness.log"
    logger.info("running: %s", shlex.join(argv))
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(argv)}\n")
        proc = subprocess.Popen(
            argv, cwd=run_dir, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        code = proc.wait()
    if code != 0:
        raise HarnessError(f"bigcode-evaluation-harness exited with code {code}: see {log_path}")


def run_harness_task(
    argv: list[str], settings: dict, run_dir: Path, env: dict | None = None
) -> tuple[dict, int | None]:
    """Scores of one harness task (resumed when possible) and its number of problems."""
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
        if _saved_generations(gen_file, settings["limit"]) is not None:
            logger.info("%s: scoring the saved generations %s", task, gen_file)
            _launch(argv + ["--load_generations_path", str(gen_file)], run_dir, env)
        else:
            gen_file.unlink(missing_ok=True)
            _launch(argv, run_dir, env)
        parsed = parse_metrics(metrics_file, task)
        if not same_settings(parsed["config"], settings):
            raise HarnessError(f"{metrics_file} does not record the settings asked for ({run_dir / 'settings.json'})")
    generations = _saved_generations(gen_file, None)
    return parsed, (len(generations) if generations is not None else settings["limit"])


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
    python: str = sys.executable,
    accelerate: bool = True,
    env: dict | None = None,
) -> dict:
    """Run (or resume) one benchmark through the harness and return its entry for results.json.

    `env` adds variables to the harness's environment (which already has ours, HF_TOKEN included)."""
    # the harness runs in its task's folder: a local model or an out_dir relative to ours would not be found there
    out_dir = Path(out_dir).expanduser().resolve()
    if Path(model).expanduser().exists():
        model = str(Path(model).expanduser().resolve())
    spec = task_spec(task_key)
    harness = find_harness(harness_dir, python=python)
    options = {
        "revision": revision,
        "precision": precision,
        "batch_size": batch_size,
        "limit": limit,
        "n_samples": n_samples,
    }
    subsets = {}
    for task in spec.harness_tasks:
        settings = task_settings(task_key, task, model, **options)
        argv = harness_command(
            task_key,
            model,
            harness_dir=harness,
            out_dir=out_dir,
            harness_task=task,
            python=python,
            accelerate=accelerate,
            **options,
        )
        run_dir = run_dir_for(out_dir, settings)
        parsed, n_tasks = run_harness_task(argv, settings, run_dir, env)
        subsets[task] = {
            "n_tasks": n_tasks,
            "scores": parsed["scores"],
            "metrics": parsed["metrics"],
            "run_dir": run_dir.name,
        }

    counts = [s["n_tasks"] for s in subsets.values()]
    if len(subsets) == 1:
        (only,) = subsets.values()
        scores = only["scores"]
    else:  # APPS: each difficulty weighted by its number of problems
        common = set.intersection(*(set(s["scores"]) for s in subsets.values()))
        total = sum(counts)
        scores = {k: sum(s["scores"][k] * s["n_tasks"] for s in subsets.values()) / total for k in sorted(common)}
    settings = benchmark_settings(task_key, **options)
    return {
        "dataset": {
            "name": spec.name,
            "source": f"bigcode-evaluation-harness {harness_revision(harness)}",
            "harness_tasks": list(spec.harness_tasks),
            "n_tasks": sum(counts) if None not in counts else None,
            **({"subset": APPS_SUBSET_NOTE} if task_key == "apps" else {}),
        },
        "scores": scores,
        "plus_scores": None,
        "n_samples": settings["n_samples"],
        "complete": limit is None,
        "settings": settings,
        "subsets": subsets,
    }

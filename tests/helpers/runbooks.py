"""Running the runbooks (recipes/runbooks/*.sh) in tests, and reading the commands they print."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# the runbooks' variables and what the builder/eval read from the shell: none may leak in from the developer's shell
VARIABLES = (
    "DRY_RUN BUILD_OSS_INSTRUCT OSS_RECIPE BUILD_ARGS BUILD_EVOL_INSTRUCT EVOL_RECIPE EVOL_ARGS ACCELERATE_CONFIG "
    "NUM_PROCESSES STAGE1_OUTPUT_DIR STAGE2_OUTPUT_DIR EVAL_OUTPUT_DIR EVAL_ARGS BIGCODE_HARNESS_DIR "
    "BIGCODE_HARNESS_VENV BIGCODE_HARNESS_PYTHON HUB_ORG HUB_PRIVATE PYTHON OPENAI_API_KEY OPENAI_BASE_URL"
    " BASE_MODEL EVAL_RECIPE PROMPT MULTIPLE"
).split()


def isolated(tmp_path: Path, **extra) -> dict:
    """Outputs under tmp_path (nothing from the repository's outputs/ can make a step look done)."""
    return {
        "BUILD_ARGS": f"--output_dir {tmp_path / 'oss'}",
        "EVOL_ARGS": f"--output_dir {tmp_path / 'evol'}",
        "STAGE1_OUTPUT_DIR": str(tmp_path / "stage1"),
        "STAGE2_OUTPUT_DIR": str(tmp_path / "stage2"),
        "EVAL_OUTPUT_DIR": str(tmp_path / "eval"),
        "BIGCODE_HARNESS_VENV": str(tmp_path / "no-harness-venv"),  # not the checkout's: the tests choose
        **extra,
    }


def start_runbook(script: str, variables: dict, *args: str, dry_run: bool = True) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(variables, PATH=f"{BIN}{os.pathsep}{env['PATH']}")  # this environment's python and accelerate
    if dry_run:
        env["DRY_RUN"] = "1"
    return subprocess.Popen(
        ["bash", f"recipes/runbooks/{script}", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run_runbook(script: str, variables: dict, *args: str, dry_run: bool = True) -> subprocess.CompletedProcess:
    return finish(start_runbook(script, variables, *args, dry_run=dry_run))


def commands(stdout: str) -> list[list[str]]:
    return [shlex.split(line[2:]) for line in stdout.splitlines() if line.startswith("+ ")]


def kind(argv: list[str]) -> str:
    if argv[:3] == ["python", "-m", "dataset_builder"]:
        return {"build": "build", "evol": "evol", "publish": "push-dataset"}[argv[3]]
    if argv[:3] == ["python", "-m", "eval"]:
        return "eval-" + Path(value(argv, "--config")).stem
    if argv[:2] == ["accelerate", "launch"]:
        return "stage1" if "stage1" in value(argv, "--config") else "stage2"
    if argv[:2] == ["hf", "upload"]:
        return "push-model"
    if argv[:2] == ["python", "generate.py"]:
        return "generate"
    raise AssertionError(f"unexpected command {argv}")


def value(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None

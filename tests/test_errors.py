"""Every entry point answers a user error with one line and exit status 2, through the real command line."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from oss_common import errors
from oss_common.parsing import did_you_mean, missing_space
from tests.conftest import teacher_argv
from tests.helpers.teacher_server import TeacherServer

ROOT = Path(__file__).resolve().parents[1]
KEY = {"OPENAI_API_KEY": "sk-test"}
CLOSED = SimpleNamespace(base_url="http://127.0.0.1:9/v1")  # the discard port: nothing listens there
TRAIN_RECIPE = ROOT / "recipes/quickstart/stage1_oss_instruct.yaml"
ACCELERATE_CPU = "recipes/accelerate_configs/cpu.yaml"


def cli(*args, env=None, timeout=60):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", errors.DEBUG_ENV))}
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout, env=environ | (env or {})
    )
    return result.returncode, result.stderr


def one_line(args, message, **kwargs):
    code, err = cli(*args, **kwargs)
    assert (code, err) == (2, f"error: {message}\n")


def error_line(err: str) -> str:
    """The one `error:` line of a run, after any progress it logged first; nothing follows it."""
    assert "Traceback" not in err
    *before, line = err.rstrip("\n").split("\n")
    assert line.startswith("error: ") and "error: " not in "\n".join(before)
    return line


def test_did_you_mean_and_missing_space():
    assert did_you_mean("max_line", ["max_lines", "seed"]) == " (did you mean `max_lines`?)"
    assert did_you_mean("zzz", ["max_lines"]) == ""
    fix = "`python:2` has no value: YAML needs a space after the colon, write {python: 2}"
    assert missing_space({"python:2": None}) == fix
    assert missing_space({"python": 2}) is None


def test_run_reports_user_errors_and_interrupts(capsys, monkeypatch):
    monkeypatch.delenv(errors.DEBUG_ENV, raising=False)

    def fails(argv):
        raise errors.UserError("no such thing")

    def interrupted(argv):
        raise KeyboardInterrupt

    assert errors.run(fails, []) == 2
    assert capsys.readouterr().err == "error: no such thing\n"
    assert errors.run(interrupted, []) == 130
    assert capsys.readouterr().err == "\ninterrupted; rerun the same command to resume\n"
    with pytest.raises(ZeroDivisionError):  # a bug is not a user error
        errors.run(lambda argv: 1 / 0, [])
    monkeypatch.setenv("RANK", "1")  # another rank of a distributed launch stays quiet
    assert errors.run(fails, []) == 2
    assert capsys.readouterr().err == ""


def test_debug_flag_is_taken_out_and_leaves_debug_value_alone(monkeypatch):
    monkeypatch.delenv(errors.DEBUG_ENV, raising=False)
    assert errors.split_debug(["--a", "1", "--debug"]) == (["--a", "1"], True)
    assert errors.split_debug(["--debug", "--a", "1"]) == (["--a", "1"], True)
    assert errors.split_debug(["--debug", "underflow_overflow"]) == (["--debug", "underflow_overflow"], False)
    monkeypatch.setenv(errors.DEBUG_ENV, "1")
    assert errors.split_debug([]) == ([], True)


# --- python -m dataset_builder ---------------------------------------------------------------------------------------


def test_builder_unknown_recipe_field_and_option(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("max_line: 3\n")
    one_line(
        ["-m", "dataset_builder", "seeds", "--config", str(recipe)],
        f"Bad recipe: {recipe}: unknown field `max_line` (did you mean `max_lines` or `min_lines`?)",
    )
    one_line(
        ["-m", "dataset_builder", "seeds", "--max_line", "3"],
        "Bad recipe: unknown option `--max_line` (did you mean `--max_lines` or `--min_lines`?)",
    )


def test_builder_languages(tmp_path):
    one_line(
        ["-m", "dataset_builder", "seeds", "--languages", "{python:2}"],
        "Bad recipe: argument --languages: `python:2` has no value: YAML needs a space after the colon, "
        "write {python: 2}",
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text("languages: {python:2}\n")
    one_line(
        ["-m", "dataset_builder", "seeds", "--config", str(recipe)],
        "Bad recipe: `languages`: `python:2` has no value: YAML needs a space after the colon, write {python: 2}.",
    )
    code, err = cli("-m", "dataset_builder", "seeds", "--languages", "{pyhton: 2}")
    assert code == 2 and err.startswith("error: Bad recipe: Unknown language 'pyhton' in `languages` (did you mean")
    assert "known: c, cpp, csharp," in err and len(err.splitlines()) == 1


def test_builder_debug_shows_the_traceback(tmp_path):
    code, err = cli("-m", "dataset_builder", "seeds", "--max_tokens", "lots", "--debug")
    assert code == 1 and "Traceback" in err and "ConfigError" in err
    code, err = cli("-m", "dataset_builder", "seeds", "--max_tokens", "lots", env={errors.DEBUG_ENV: "1"})
    assert code == 1 and "Traceback" in err


def test_builder_teacher_errors_name_the_url_and_the_servers_message(tmp_path):
    with TeacherServer(faults={0: ["400"], 1: ["400"]}) as server:
        code, err = cli("-m", "dataset_builder", "generate", *teacher_argv(tmp_path, server, n=2), env=KEY)
    line = error_line(err)
    assert code == 2 and line.startswith(f"error: {server.base_url} rejected the request (400: injected 400). Check")
    argv = teacher_argv(tmp_path, CLOSED, "--max_retries", "0", n=2)
    code, err = cli("-m", "dataset_builder", "generate", *argv, env=KEY)
    # the preflight finds the unreachable teacher before any request, and names it
    assert code == 2 and f"The teacher at {CLOSED.base_url} cannot be reached" in err and "Traceback" not in err


def test_builder_refuses_the_openai_api_without_a_key(tmp_path):
    argv = teacher_argv(tmp_path, CLOSED, "--teacher_base_url", "https://api.openai.com/v1", n=2)
    code, err = cli("-m", "dataset_builder", "generate", *argv)
    assert code == 2 and error_line(err) == (
        "error: https://api.openai.com/v1 needs OPENAI_API_KEY, which is not set (nothing was sent). Or set "
        "`teacher_base_url` (or OPENAI_BASE_URL) for an OpenAI-compatible server, or `local_teacher: true` for the "
        "offline toy teacher."
    )


def test_builder_ctrl_c_stops_cleanly(tmp_path):
    with TeacherServer(latency=(30.0, 30.0)) as server:
        argv = teacher_argv(tmp_path, server, n=2)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")} | KEY
        proc = subprocess.Popen(
            [sys.executable, "-m", "dataset_builder", "generate", *argv],
            cwd=ROOT,
            env=environ,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not server.in_flight and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err.endswith("\ninterrupted; rerun the same command to resume\n")
    assert "Traceback" not in err


def test_builder_ctrl_c_then_rerun_resumes(tmp_path):
    """Interrupted after one of two answers: the rerun asks the teacher only for the other row and completes."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")} | KEY
    with TeacherServer(faults={1: ["slow"]}, slow_seconds=60.0) as server:
        argv = teacher_argv(tmp_path, server, n=2)
        proc = subprocess.Popen(
            [sys.executable, "-m", "dataset_builder", "generate", *argv], cwd=ROOT, env=environ, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while sum(server.answered.values()) < 1 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        time.sleep(0.5)  # the answer reaches the journal
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        assert proc.returncode == 130 and dict(server.answered) == {0: 1}
    with TeacherServer() as server:
        argv = teacher_argv(tmp_path, server, n=2)
        done = subprocess.run(
            [sys.executable, "-m", "dataset_builder", "generate", *argv], cwd=ROOT, env=environ, capture_output=True
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert set(server.attempts) == {1}  # row 0's stored answer was not asked for again


# --- generate.py, python -m eval, python -m demo.app -----------------------------------------------------------------


def test_generate_unknown_option_and_openai_without_a_key():
    one_line(["generate.py", "--promt", "hi"], "unknown option `--promt` (did you mean `--prompt`?).")
    argv = ["generate.py", "--backend", "openai", "--model_name_or_path", "gpt-4o", "--prompt", "hi"]
    one_line(
        [*argv, "--base_url", "https://api.openai.com/v1"],
        "no API key: set the environment variable OPENAI_API_KEY for https://api.openai.com/v1, or give base_url "
        "(e.g. http://127.0.0.1:8000/v1) for an OpenAI-compatible server.",
    )


def test_generate_names_the_url_and_carries_the_servers_message():
    argv = ["generate.py", "--backend", "openai", "--model_name_or_path", "m", "--prompt", "hi", "--seed", "976"]
    argv += ["--base_url"]
    with TeacherServer(faults={0: ["400"] * 10}) as server:
        code, err = cli(*argv, server.base_url, env=KEY)
    line = error_line(err)
    assert code == 2 and line.startswith(f"error: {server.base_url} rejected the request (400: injected 400). Check")
    code, err = cli(*argv, CLOSED.base_url)
    assert code == 2 and error_line(err).startswith(f"error: cannot reach {CLOSED.base_url}/chat/completions (")


def test_eval_and_demo_unknown_options():
    one_line(
        ["-m", "eval", "--model_name_or_path", "x", "--benchmrks", "humaneval"],
        "unknown option `--benchmrks` (did you mean `--benchmarks`?)",
    )
    one_line(
        ["-m", "eval", "--model_name_or_path", "x", "--benchmarks", "humaneva"],
        "unknown benchmark(s) humaneva: choose from humaneval, mbpp, multiple-java, multiple-js, multiple-cpp, "
        "multiple-php, multiple-swift, multiple-rust, ds1000, apps",
    )
    one_line(
        ["-m", "demo.app", "--model_name_or_path", "m", "--prot", "8080"],
        "unknown option `--prot` (did you mean `--port`?).",
    )


# --- train_sft.py, alone and under accelerate launch -----------------------------------------------------------------


def test_train_sft_missing_model(tmp_path):
    missing = tmp_path / "stage1"
    argv = ["--config", str(TRAIN_RECIPE), "--model_name_or_path", str(missing), "--output_dir", "x"]
    code, err = cli("train_sft.py", *argv, timeout=120)  # transformers warns about the recipe first
    message = f"error: {missing} does not exist. For stage 2, run stage 1 first (its output_dir is this path)."
    assert code == 2 and error_line(err) == message


@pytest.mark.slow
def test_train_sft_under_accelerate_launch_quiet_prints_only_the_childs_line(tmp_path):
    missing = tmp_path / "stage1"
    argv = ["--config", str(TRAIN_RECIPE), "--model_name_or_path", str(missing), "--output_dir", str(tmp_path)]
    launch = ["-m", "accelerate.commands.launch", "--quiet", "--config_file", str(ROOT / ACCELERATE_CPU)]
    code, err = cli(*launch, "train_sft.py", *argv, timeout=300)
    assert code == 1 and "Traceback" not in err  # --quiet: accelerate exits 1 and prints nothing of its own
    assert err.endswith(
        f"\nerror: {missing} does not exist. For stage 2, run stage 1 first (its output_dir is this path).\n"
    )

"""Every entry point answers a user error with one line and exit status 2, through the real command line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oss_common import errors
from oss_common.parsing import did_you_mean, missing_space

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, env=None, timeout=60):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", errors.DEBUG_ENV))}
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout, env=environ | (env or {})
    )
    return result.returncode, result.stderr


def one_line(args, message, **kwargs):
    code, err = cli(*args, **kwargs)
    assert (code, err) == (2, f"error: {message}\n")


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

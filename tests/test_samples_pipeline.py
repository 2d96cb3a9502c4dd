"""`solutions_per_problem`, `tests_from` and `verify_keep: best | diverse` through the verified build's CLI against a
loopback teacher told, per problem and sample, whether its solution is right (three different right ways to write it),
wrong, cut at max_tokens or without code: the published rows, `pass_rate`, `samples_status` and `kept_sample` are
exactly what it was told; N = 1 changes no run folder; a kill -9 while the samples run loses nothing and runs no sample
twice. The same in every installed language is in tests/test_samples_languages.py (slow)."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from datasets import load_dataset

from dataset_builder import prompts
from dataset_builder.cli import main, parse_config
from dataset_builder.pipeline import chain_of, run_dir_for
from dataset_builder.runs import RunDir
from tests.helpers.runs import load_rejects
from tests.helpers.teacher_server import TeacherServer
from tests.test_verified_pipeline import (
    ASKED,
    SEED,
    WRONG,
    Teacher,
    asserting_teacher,
    kill_once_journaled,
    verified_argv,
)

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap")

N = 4
# (row, sample) -> how the extra sample answers; every other extra sample is right in the first way ("A")
PLAN = {
    (0, 1): "B",
    (0, 2): "wrong",
    (0, 3): "A",  # the same code as sample 0: a near-duplicate for `diverse`
    (1, 1): "wrong",
    (1, 2): "C",
    (1, 3): "wrong",
    (2, 3): "cut",
    (3, 2): "prose",
    (4, 1): "wrong",
    (4, 2): "wrong",
    (4, 3): "wrong",
}
RIGHT = {"A": "return {n}", "B": "value = {n}\n    return value", "C": 'return int("{n}")'}


class Samples(Teacher):
    """The verified pipeline's teacher (sample 0 wrong for the rows in WRONG), answering the solutions prompt as PLAN
    says; each solutions request's temperature is checked by the test from the server's bodies."""

    def __call__(self, messages, seed):
        if not messages[-1]["content"].startswith("Solve the following programming problem"):
            return super().__call__(messages, seed)
        name, number = ASKED.search(messages[-1]["content"]).groups()
        row, sample = divmod(seed - SEED, 1000)
        how = PLAN.get((row, sample), "A")
        if how == "cut":
            return f"Here:\n```python\ndef {name}():\n    return", "length"
        if how == "prose":
            return f"Return {number} from a function named {name}."
        body = f"return {int(number) + 1}" if how == "wrong" else RIGHT[how].format(n=number)
        return f"A solution:\n```python\ndef {name}():\n    {body}\n```"


def statuses_expected(row: int) -> list[str]:
    first = "fail" if row in WRONG else "pass"
    rest = []
    for sample in range(1, N):
        how = PLAN.get((row, sample), "A")
        rest.append({"wrong": "fail", "cut": "solution_truncated", "prose": "no_solution_code"}.get(how, "pass"))
    return [first, *rest]


def execute_run(out) -> RunDir:
    (stats,) = (out / "execute").glob("*/stats.json")
    return RunDir.at(stats.parent)


def build(tmp_path, *extra):
    with TeacherServer(answer=Samples()) as server:
        assert main(["build", *verified_argv(tmp_path, server, "--solutions_per_problem", str(N), *extra)]) == 0
        return server


def test_best_keeps_the_first_passing_sample_and_every_row_has_its_pass_rate(tmp_path, api_env, capsys):
    server = build(tmp_path, "--verify_keep", "best")
    solutions = [b for b in server.bodies if b["messages"][-1]["content"].startswith("Solve the following")]
    assert len(solutions) == 8 * (N - 1) and {b["temperature"] for b in solutions} == {0.7}
    assert {b["temperature"] for b in server.bodies if b not in solutions} == {0.0}  # generate and tests: greedy
    execute = execute_run(tmp_path / "out")
    kept = execute.load()
    expected = {row: statuses_expected(row) for row in range(8)}
    assert dict(zip(kept["raw_index"], kept["samples_status"], strict=True)) == {
        row: s for row, s in expected.items() if "pass" in s
    }
    rates = {row: s.count("pass") / N for row, s in expected.items()}
    assert dict(zip(kept["raw_index"], kept["pass_rate"], strict=True)) == {r: rates[r] for r in kept["raw_index"]}
    chosen = dict(zip(kept["raw_index"], kept["kept_sample"], strict=True))
    assert chosen == {0: 0, 1: 2, 2: 0, 3: 0, 5: 0, 6: 0, 7: 0}  # row 1: its greedy answer fails, sample 2 passes
    for row in kept:
        assert len(row["samples"]) == N and row["samples"][row["kept_sample"]] == row["solution"]
        assert row["exec_status"] == "pass"
    assert 'return int("' in kept[kept["raw_index"].index(1)]["solution"]
    rejects = load_rejects(execute)
    assert rejects["raw_index"] == [4] and rejects["reason"] == ["fail"] and rejects["pass_rate"] == [0.0]
    samples = execute.stats()["samples"]["by_language"]["python"]
    assert samples["problems"] == 8 and samples["samples"] == 8 * N and samples["executed"] == 8 * N
    assert samples["first_passed"] == 6 and samples["any_passed"] == 7 and samples["rows_published"] == 7
    assert samples["passed"] == sum(s.count("pass") for s in expected.values())
    assert samples["statuses"]["solution_truncated"] == 1 and samples["statuses"]["no_solution_code"] == 1
    assert samples["bins"] == {"0": 1, "(0, 0.5)": 1, "[0.5, 1)": 3, "1": 3}
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    published = load_dataset(str(hub), split="train")
    assert sorted(published["raw_index"]) == [0, 1, 2, 3, 5, 6, 7]
    assert {"pass_rate", "kept_sample", "samples_status", "samples"} <= set(published.column_names)
    card = (hub / "README.md").read_text()
    assert "### Several solutions per problem" in card and "| python | 8 | 32 | 6 | 7 |" in card
    assert "`verify_keep: best`" in card and (hub / "figures" / "pass_rate.png").is_file()
    out = capsys.readouterr().out
    assert re.search(r"^python( +8){5} +6 +7 +7$", out.split("verification funnel")[1], re.M), out


def test_diverse_keeps_every_passing_solution_but_near_duplicates(tmp_path, api_env):
    build(tmp_path, "--verify_keep", "diverse")
    kept = execute_run(tmp_path / "out").load()
    pairs = sorted(zip(kept["raw_index"], kept["kept_sample"], strict=True))
    # row 0: samples 0 (A), 1 (B) and 3 (A again: dropped); row 1: only sample 2 passes; rows 2, 3, 5-7: A, A, ...
    # are one solution; row 4: none passes
    assert pairs == [(0, 0), (0, 1), (1, 2), (2, 0), (3, 0), (5, 0), (6, 0), (7, 0)]
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    published = load_dataset(str(hub), split="train")
    # clean keeps both rows of problem 0 (they share seed and problem by design) and the published index is unique
    assert sorted(zip(published["raw_index"], published["kept_sample"], strict=True)) == pairs
    assert sorted(published["index"]) == list(range(len(pairs)))


def test_tests_from_problem_asks_without_the_solution(tmp_path, api_env):
    server = build(tmp_path, "--tests_from", "problem", "--verify_keep", "best")
    asked = [
        b["messages"][-1]["content"] for b in server.bodies if b["messages"][0]["content"] == prompts.TESTS_SYSTEM
    ]
    assert len(asked) == 8 and all("[Solution]" not in text and "Do not write a solution" in text for text in asked)
    assert len(execute_run(tmp_path / "out").load()) == 7


def test_one_solution_per_problem_is_the_build_without_the_field():
    base = ["--pipeline", "oss_instruct_verified", "--local_teacher", "true"]
    plain = parse_config(base)
    same = parse_config(
        [*base, "--solutions_per_problem", "1", "--tests_from", "solution", "--diverse_threshold", "0.8"]
    )
    assert chain_of(same) == chain_of(plain) and "solutions" not in chain_of(plain)

    def folders(config):
        names, run_dir = [], None
        for stage in chain_of(config):
            run_dir, _ = run_dir_for(stage, config, run_dir)
            names.append(run_dir.path.name)
        return names

    assert folders(same) == folders(plain)
    more = parse_config([*base, "--solutions_per_problem", "3"])
    assert chain_of(more)[chain_of(more).index("tests") - 1] == "solutions"
    assert folders(more)[:3] == folders(plain)[:3]  # seeds, generate and parse are shared
    assert folders(parse_config([*base, "--tests_from", "problem"]))[3] != folders(plain)[3]


def test_keeping_best_or_diverse_without_samples_names_the_fix():
    from dataset_builder.config import ConfigError

    with pytest.raises(ConfigError, match="set `solutions_per_problem`"):
        parse_config(["--verify_keep", "diverse"])
    with pytest.raises(ConfigError, match="from 1 to 100"):
        parse_config(["--solutions_per_problem", "0"])
    with pytest.raises(ConfigError, match="use solution .* or problem"):
        parse_config(["--tests_from", "answer"])


def test_kill_9_while_the_samples_run_then_rerun_runs_no_sample_twice(tmp_path, api_env):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with TeacherServer(answer=Samples(sleep=0.3)) as server:
        argv = verified_argv(tmp_path, server, "--exec_workers", "1", "--solutions_per_problem", str(N), n=4)
        command = [sys.executable, "-m", "dataset_builder", "build", *argv, "--verify_keep", "best"]
        _, journal, before = kill_once_journaled(command, env, tmp_path, "samples.jsonl")
        total = 4 * (N - 1)
        assert 2 <= len(before) < total and not (journal.parent / "stats.json").exists()
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    stored = len([line for line in before if line.endswith("}")])
    assert f"{total} more samples of 4 rows: {stored} run before, {total - stored} to run" in rerun.stderr
    after = journal.read_text().splitlines()
    assert after[: len(before)] == before and len(after) == total
    assert len({json.loads(line)["sample"] for line in after}) == total
    kept = execute_run(tmp_path / "out").load()
    assert dict(zip(kept["raw_index"], kept["samples_status"], strict=True)) == {
        row: statuses_expected(row) for row in range(4) if "pass" in statuses_expected(row)
    }


def test_the_dry_run_counts_the_extra_solutions_before_and_after_parse(tmp_path, api_env, capsys):
    from dataset_builder import pipeline, preflight

    with TeacherServer(answer=Samples()) as server:
        config = parse_config([*verified_argv(tmp_path, server, n=8), "--solutions_per_problem", str(N)])
        preflight.dry_run(config, "publish")
        printed = capsys.readouterr().out
        assert not server.bodies and not (tmp_path / "out").exists()
        # 94% of 8 seeds assumed to parse: ~8 rows, 3 more solutions each
        assert (
            "Dry run of the solutions stage, gpt-3.5-turbo-1106 (openai): ~24 requests to send (3 per row" in printed
        )
        assert f"{N} solution runs per row with tests (solutions_per_problem)" in printed

        pipeline.run_stage("parse", config)
        sent = len(server.bodies)
        preflight.dry_run(config, "publish")
        printed = capsys.readouterr().out
        assert len(server.bodies) == sent
    assert "Dry run of the solutions stage, gpt-3.5-turbo-1106 (openai): 24 requests to send (0 already answered)" in (
        printed
    )
    assert not (tmp_path / "out" / "solutions").exists()


def test_running_the_solutions_stage_without_samples_names_the_field():
    from dataset_builder.config import ConfigError
    from dataset_builder.pipeline import run_stage

    config = parse_config(["--pipeline", "oss_instruct_verified", "--local_teacher", "true"])
    with pytest.raises(ConfigError, match=r"runs with `solutions_per_problem` > 1 .*oss_instruct_verified, verify"):
        run_stage("solutions", config)


def test_a_source_with_its_own_sample_columns_makes_no_pairs_from_them(tmp_path, api_env):
    """A downloaded dataset may carry `samples`, `samples_status` and `kept_sample` claiming passes: verify keeps them
    as `source_<name>` and publishes no preference pairs from them (only this build's own samples make pairs)."""
    from tests.conftest import OFFLINE

    forged = {
        "problem": "Write a function `g0` that returns the number 0.",
        "solution": "```python\ndef g0():\n    return 0\n```",
        "lang": "python",
        "samples": ["```python\ndef g0():\n    return 0\n```", "```python\ndef g0():\n    return 1\n```"],
        "samples_status": ["pass", "fail"],
        "kept_sample": 0,
    }
    data = tmp_path / "forged.jsonl"
    data.write_text(json.dumps(forged) + "\n")

    with TeacherServer(answer=asserting_teacher) as server:
        argv = ["--verify_dataset", str(data), "--teacher_base_url", server.base_url, "--teacher_model"]
        argv += ["gpt-3.5-turbo-1106", "--output_dir", str(tmp_path / "out"), *OFFLINE]
        assert main(["verify", *argv]) == 0
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    assert not (hub / "data" / "preference").exists()
    assert "config_name: preference" not in (hub / "README.md").read_text()
    ds = load_dataset(str(hub), split="train")
    assert ds["source_samples_status"] == [["pass", "fail"]] and ds["source_kept_sample"] == [0]
    assert "samples_status" not in ds.column_names and ds["exec_status"] == ["pass"]

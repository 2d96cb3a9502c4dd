"""Several solutions per problem in every installed language: `verify` on a dataset of two problems per language
(bench/execution.py's sample solution), with a loopback teacher whose three samples are right or wrong as planned and
whose tests are strong for problem 0 (bench/execution.py's) and `assert 0 == 0`-style for problem 1. The published
rows, `pass_rate`, `samples_status`, `kept_sample` and `tests_mutation_score` are what the teacher was told: wrong
samples fail strong tests and pass trivial ones, trivial tests score 0 and `min_mutation_score` removes them; the
funnel and the card count them per language."""

import json
import re
import shutil

import pytest
from datasets import load_dataset

from bench.execution import SAMPLES
from dataset_builder import prompts
from dataset_builder.cli import main
from dataset_builder.execution import toolchains
from dataset_builder.runs import RunDir
from tests.conftest import OFFLINE
from tests.helpers.runs import load_rejects
from tests.helpers.teacher_server import TeacherServer
from tests.test_mutation import TRIVIAL

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap"),
    pytest.mark.slow,  # 2 problems x 3 samples (+1 mutant each) per language: Java and TypeScript compile slowly
]
SEED = 976
PLAN = {0: ("right", "wrong", "right"), 1: ("wrong", "wrong", "right")}  # problem (of its language) -> samples
ASKED = re.compile(r"Problem (\w+) (\d+)\b")


def code(language: str, how: str) -> str:
    k = "3" if how == "right" else "4"  # the tests check k = 3
    fence = prompts.TEST_LANGUAGES[language][1]
    return f"A solution:\n```{fence}\n{SAMPLES[language][0].replace('{k}', k).strip()}\n```"


def teacher(messages, seed):
    language, index = ASKED.search(messages[-1]["content"]).groups()
    if messages[0]["content"] == prompts.TESTS_SYSTEM:
        fence = prompts.TEST_LANGUAGES[language][1]
        tests = SAMPLES[language][1].replace("{k}", "3") if int(index) % 2 == 0 else TRIVIAL[language]
        return f"```{fence}\n{tests.strip()}\n```"
    row, sample = divmod(seed - SEED, 1000)
    assert row == int(index), (row, index)
    return code(language, PLAN[row % 2][sample])


def test_every_language_gets_the_pass_rate_kept_sample_and_mutation_score_it_was_told(tmp_path, api_env, capsys):
    languages = [lang for lang in SAMPLES if toolchains.find(lang) is not None]
    assert "python" in languages
    rows = [
        {
            "lang": lang,
            "raw_index": 2 * j + p,
            "problem": f"Problem {lang} {2 * j + p}: write it.",
            "solution": code(lang, PLAN[p][0]),
        }
        for j, lang in enumerate(languages)
        for p in (0, 1)
    ]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with TeacherServer(answer=teacher) as server:
        argv = ["--verify_dataset", str(data), "--teacher_base_url", server.base_url, "--teacher_model"]
        argv += ["gpt-3.5-turbo-1106", "--output_dir", str(tmp_path / "out"), *OFFLINE, "--solutions_per_problem", "3"]
        argv += ["--verify_keep", "best", "--mutants_per_row", "2", "--min_mutation_score", "0.5"]
        assert main(["verify", *argv, "--exec_timeout", "30"]) == 0
    (stats,) = (tmp_path / "out" / "execute").glob("*/stats.json")
    execute = RunDir.at(stats.parent)
    kept, rejects = execute.load(), load_rejects(execute)
    by_row = {row["raw_index"]: row for row in (*kept, *rejects)}
    assert sorted(kept["raw_index"]) == [row["raw_index"] for row in rows if row["raw_index"] % 2 == 0]
    assert set(rejects["reason"]) == {"mutation_score"}  # every problem 1: its trivial tests kill no mutant
    for row in rows:
        got, strong = by_row[row["raw_index"]], row["raw_index"] % 2 == 0
        plan = PLAN[row["raw_index"] % 2]
        statuses = ["pass" if how == "right" or not strong else "fail" for how in plan]
        assert got["samples_status"] == statuses, (row["lang"], got["samples_status"], got["exec_output"])
        assert got["pass_rate"] == pytest.approx(statuses.count("pass") / 3)
        assert got["kept_sample"] == 0 and got["exec_status"] == "pass"
        assert got["samples"][got["kept_sample"]] == got["solution"]
        # a mutant (a constant +-1, a flipped comparison, a default return, a removed line) fails strong tests only
        assert got["tests_mutation_score"] == (1.0 if strong else 0.0), (row["lang"], got["tests_mutation_score"])
    samples = json.loads(stats.read_text())["samples"]["by_language"]
    assert sorted(samples) == sorted(languages)
    for entry in samples.values():
        assert (entry["problems"], entry["executed"], entry["first_passed"], entry["any_passed"]) == (2, 6, 2, 2)
        assert entry["passed"] == 5 and entry["rows_published"] == 1
        assert entry["bins"] == {"0": 0, "(0, 0.5)": 0, "[0.5, 1)": 1, "1": 1}
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    published = load_dataset(str(hub), split="train")
    assert len(published) == len(languages) and set(published["tests_mutation_score"]) == {1.0}
    card = (hub / "README.md").read_text()
    for lang in languages:
        assert f"| {lang} | 2 | 6 | 2 | 2 | 5 | 0 | 0 | 1 | 1 | 1 |" in card
    funnel = capsys.readouterr().out.split("verification funnel")[1]
    for lang in languages:
        assert re.search(rf"^{lang}( +2){{5}} +1$", funnel, re.M), funnel

"""The GRPO code reward (`oss_rl.reward.CodeReward`) on the real executor and sandbox: right completions score 1 and
wrong ones 0 in every installed language, in TRL's text and conversational forms; no code, a timeout, a forged exit
and a missing toolchain score 0 without raising; the executor is made once and reused across calls."""

import shutil

import pytest

from bench.execution import SAMPLES
from dataset_builder import prompts
from dataset_builder.execution import toolchains
from oss_rl.reward import CodeReward, completion_text

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap")
SLOW = ("java", "typescript")  # seconds of compile per completion


def fenced(language: str, code: str) -> str:
    return f"Here is the solution.\n```{prompts.TEST_LANGUAGES[language][1]}\n{code.strip()}\n```\nDone."


@pytest.fixture(scope="module")
def reward():
    made = CodeReward(exec_timeout=5.0, workers=2)
    yield made
    made.close()


def test_completion_text_takes_text_or_the_last_message():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": "y"}]) == "y"
    assert completion_text([]) == "" and completion_text(None) == ""


@pytest.mark.parametrize(
    "language", [pytest.param(lang, marks=pytest.mark.slow) if lang in SLOW else lang for lang in SAMPLES]
)
def test_right_scores_1_and_wrong_scores_0_in_every_installed_language(reward, language):
    if toolchains.find(language) is None:
        pytest.skip(f"{language}: no toolchain here")
    solution, tests = SAMPLES[language]
    right, wrong = fenced(language, solution.replace("{k}", "3")), fenced(language, solution.replace("{k}", "4"))
    metrics, extra = {}, {}
    completions = [right, [{"role": "assistant", "content": right}], wrong, "no code at all"]
    rewards = reward(
        prompts=["p"] * 4,
        completions=completions,
        tests=[tests.replace("{k}", "3")] * 4,
        lang=[language] * 4,
        log_metric=metrics.__setitem__,
        log_extra=extra.__setitem__,
    )
    assert rewards == [1.0, 1.0, 0.0, 0.0]
    assert extra["exec_status"][:2] == ["pass", "pass"] and extra["exec_status"][3] == "no_code"
    assert extra["exec_status"][2] != "pass" and metrics["code_reward/pass"] == 0.5


def test_timeouts_forged_exits_missing_tests_and_toolchains_score_0_without_raising(reward):
    tests = "from solution import *\nassert answer() == 42\n"
    completions = [
        fenced("python", "def answer():\n    return 42"),
        fenced("python", "def answer():\n    while True:\n        pass"),  # the tests never end: timeout
        fenced("python", "import os\nos._exit(0)"),  # exits 0 before any check: not a pass
        fenced("python", "def answer():\n    return 42"),  # no tests for this row
        "```swift\nfunc answer() -> Int { 42 }\n```",  # no toolchain here (or none defined)
    ]
    before = reward.executor
    rewards = reward(
        prompts=["p"] * 5,
        completions=completions,
        tests=[tests, tests, tests, "", "precondition(answer() == 42)"],
        lang=["python", "python", "python", "python", "swift"],
    )
    assert rewards == [1.0, 0.0, 0.0, 0.0, 0.0] and reward.executor is before  # made once, reused
    statuses = [entry[0] for entry in list(reward.history)[-5:]]
    assert statuses[0] == "pass" and statuses[1] == "timeout" and statuses[2] == "tests_incomplete"
    assert statuses[3] == "no_tests" and statuses[4] in ("no_toolchain", "pass")
    if toolchains.find("swift") is None:
        assert statuses[4] == "no_toolchain"


def test_a_batch_without_tests_names_the_columns_it_needs(reward):
    with pytest.raises(ValueError, match="needs the dataset's `tests` and `lang` columns"):
        reward(prompts=["p"], completions=["c"], problem=["x"])

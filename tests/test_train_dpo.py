"""train_dpo.py on the `preference` config of a loopback-teacher verified build with several solutions per problem:
the pairs load in TRL's format, a build without pairs is refused with the fix, and (slow) one DPO step of the
quickstart's SmolLM2-135M trains on them and writes its model and card."""

import shutil
import sys

import pytest

from dataset_builder.cli import main as builder
from oss_common.parsing import check_names, parse
from oss_rl.data import load_pairs
from oss_sft.data import DataError
from tests.helpers.teacher_server import TeacherServer
from tests.test_samples_pipeline import Samples
from tests.test_verified_pipeline import verified_argv
from train_dpo import make_parser

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap")


def build(tmp_path, *extra) -> str:
    with TeacherServer(answer=Samples()) as server:
        assert builder(["build", *verified_argv(tmp_path, server, *extra)]) == 0
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    return str(hub)


def test_the_recipes_name_only_known_fields():
    for recipe in ("recipes/dpo/smollm2_cpu.yaml", "recipes/dpo/ds-6.7b_verified.yaml"):
        check_names(make_parser(), ["--config", recipe])


def test_pairs_load_from_the_build_and_a_build_without_them_names_the_fix(tmp_path):
    hub = build(tmp_path / "samples", "--solutions_per_problem", "4", "--verify_keep", "best")
    pairs = load_pairs(hub, "preference", "train", None, None)
    assert pairs.column_names == ["prompt", "chosen", "rejected"] and len(pairs) == 4
    assert all(row["chosen"][0]["content"] != row["rejected"][0]["content"] for row in pairs)
    plain = build(tmp_path / "plain")
    with pytest.raises(DataError, match="no 'preference' config .* several solutions per problem"):
        load_pairs(plain, "preference", "train", None, None)


@pytest.mark.slow
def test_one_dpo_step_on_the_pairs_of_a_verified_build(tmp_path, monkeypatch):
    from dataset_builder.teacher.local_server import default_cache_dir, smollm2_model_dir
    from train_dpo import main

    hub = build(tmp_path, "--solutions_per_problem", "4", "--verify_keep", "best")
    model = smollm2_model_dir(default_cache_dir())
    out = tmp_path / "dpo"
    argv = ["--config", "recipes/dpo/smollm2_cpu.yaml", "--model_name_or_path", str(model)]
    argv += ["--dataset_name", hub, "--output_dir", str(out)]
    monkeypatch.setattr(sys, "argv", ["train_dpo.py"])
    trainer = main(*parse(make_parser(), argv))
    assert trainer.state.global_step == 1
    (logged,) = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert logged["loss"] > 0 and "rewards/margins" in logged
    card = (out / "README.md").read_text()
    assert "DPOTrainer" in card and "config `preference`" in card and "base_model:" in card
    from transformers import AutoTokenizer

    from oss_common.template import CHAT_TEMPLATE

    assert (out / "model.safetensors").is_file() and AutoTokenizer.from_pretrained(out).chat_template == CHAT_TEMPLATE

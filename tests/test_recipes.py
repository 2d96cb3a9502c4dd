"""Training recipes: every YAML under recipes/magicoder parses with train_sft's parser, the paper's four recipes carry
the paper's hyperparameters (REFERENCE.md §3), stage 2 starts from stage 1's output, and the accelerate configs load.

On a machine without a GPU, `--use_cpu true` is added: `bf16: true` is refused on CPU otherwise (it is the only
override; the values checked are the recipes' own).
"""

import warnings
from pathlib import Path

import pytest
import yaml

import train_sft

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes" / "magicoder").rglob("*.yaml"))
MODELS = {"cl-7b": "codellama/CodeLlama-7b-Python-hf", "ds-6.7b": "deepseek-ai/deepseek-coder-6.7b-base"}
DATASETS = {1: "ise-uiuc/Magicoder-OSS-Instruct-75K", 2: "ise-uiuc/Magicoder-Evol-Instruct-110K"}
MAX_LENGTH = {1: 1216, 2: 1024}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def parse(path: Path):
    import torch

    argv = ["--config", str(path)] + ([] if torch.cuda.is_available() else ["--use_cpu", "true"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers 5: gradient_checkpointing -> activation_...
        return train_sft.make_parser().parse_args_and_config(argv)


def test_the_recipes_are_all_there():
    names = {_rel(p) for p in RECIPES}
    for model in MODELS:
        for name in ("stage1_oss_instruct", "stage2_evol_instruct", "stage1_oss_instruct_fast"):
            assert f"recipes/magicoder/{model}/{name}.yaml" in names
    assert "recipes/magicoder/ds-6.7b/stage1_oss_instruct_qlora.yaml" in names
    assert (ROOT / "recipes/quickstart/stage2_evol_instruct.yaml").is_file()  # the CPU twin


@pytest.mark.parametrize("path", RECIPES, ids=_rel)
def test_every_recipe_parses(path):
    script_args, training_args, model_args = parse(path)
    assert model_args.model_name_or_path and script_args.dataset_name and training_args.output_dir
    assert training_args.num_train_epochs == 2 and training_args.warmup_steps == 15
    assert training_args.max_grad_norm == 0.0  # clipping off everywhere, as in the paper


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("stage", [1, 2])
def test_paper_recipes_have_the_paper_values(model, stage):
    name = "stage1_oss_instruct" if stage == 1 else "stage2_evol_instruct"
    script_args, args, model_args = parse(ROOT / "recipes" / "magicoder" / model / f"{name}.yaml")
    assert script_args.dataset_name == DATASETS[stage]
    assert args.num_train_epochs == 2
    assert args.learning_rate == 5e-5
    assert args.lr_scheduler_type == "linear"
    assert args.warmup_steps == 15
    assert args.optim == "adafactor"
    assert args.global_batch_size == 512 and args.per_device_train_batch_size == 2
    assert args.bf16 is True
    assert args.max_grad_norm == 0.0
    assert args.max_length == MAX_LENGTH[stage]
    assert not args.packing and not args.padding_free and not args.use_liger_kernel
    assert not model_args.use_peft and not model_args.load_in_4bit
    if stage == 1:
        assert model_args.model_name_or_path == MODELS[model]


@pytest.mark.parametrize("model", sorted(MODELS) + ["quickstart"])
def test_stage2_starts_from_stage1_output(model):
    folder = ROOT / "recipes" / ("quickstart" if model == "quickstart" else f"magicoder/{model}")
    _, stage1, _ = parse(folder / "stage1_oss_instruct.yaml")
    _, stage2, stage2_model = parse(folder / "stage2_evol_instruct.yaml")
    assert stage2_model.model_name_or_path == stage1.output_dir
    assert stage2.output_dir != stage1.output_dir
    if model != "quickstart":  # the Hub alternative is documented next to it
        text = (folder / "stage2_evol_instruct.yaml").read_text()
        assert "#   model_revision:" in text


def test_global_batch_gives_the_papers_accumulation(monkeypatch):
    """The release: 2 GPUs x 2 per device x 128 accumulation steps = 512."""
    _, args, _ = parse(ROOT / "recipes/magicoder/cl-7b/stage1_oss_instruct.yaml")
    monkeypatch.setattr(type(args), "world_size", property(lambda self: 2))
    train_sft.apply_global_batch_size(args)
    assert args.gradient_accumulation_steps == 128


@pytest.mark.parametrize("model", sorted(MODELS))
def test_fast_profile(model):
    _, args, model_args = parse(ROOT / "recipes" / "magicoder" / model / "stage1_oss_instruct_fast.yaml")
    assert args.packing and args.packing_strategy == "bfd" and args.padding_free
    assert args.use_liger_kernel and args.gradient_checkpointing
    assert model_args.attn_implementation == "flash_attention_2"
    assert args.learning_rate == 5e-5 and args.optim == "adafactor" and args.max_length == 1216


def test_qlora_recipe():
    _, args, model_args = parse(ROOT / "recipes/magicoder/ds-6.7b/stage1_oss_instruct_qlora.yaml")
    assert model_args.use_peft and model_args.load_in_4bit and model_args.bnb_4bit_quant_type == "nf4"
    assert model_args.lora_target_modules == "all-linear"
    assert model_args.lora_r and model_args.lora_alpha
    from trl import get_peft_config

    assert get_peft_config(model_args).target_modules == "all-linear"


@pytest.mark.parametrize("name", ["cpu", "ddp", "zero2", "zero3", "fsdp"])
def test_accelerate_configs_load(name):
    from accelerate.commands.config.config_args import load_config_from_file

    path = ROOT / "recipes" / "accelerate_configs" / f"{name}.yaml"
    config = load_config_from_file(str(path))
    raw = yaml.safe_load(path.read_text())
    if name != "cpu":
        assert config.mixed_precision == "bf16"
        assert path.read_text().startswith("#")  # when to pick it
    if name == "zero3":
        assert raw["deepspeed_config"]["zero_stage"] == 3 and raw["deepspeed_config"]["zero3_save_16bit_model"]
    if name == "fsdp":
        fsdp = raw["fsdp_config"]
        assert fsdp["fsdp_reshard_after_forward"] == "FULL_SHARD"
        assert fsdp["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
        assert fsdp["fsdp_state_dict_type"] == "FULL_STATE_DICT"


def test_packed_rows_do_not_attend_to_each_other_without_flash_attention(tmp_path):
    """The fast profile's padding-free batches on SDPA (CPU): with the cache off, as SFTTrainer runs the model,
    transformers masks attention between the examples of a pack, so each one's logits equal those it gets alone."""
    import torch
    from transformers import AutoModelForCausalLM

    from tests.helpers.tiny_model import build_tiny_model

    model = AutoModelForCausalLM.from_pretrained(build_tiny_model(tmp_path / "m"), attn_implementation="sdpa")
    torch.manual_seed(0)
    a, b = torch.randint(5, 900, (1, 7)), torch.randint(5, 900, (1, 5))
    position_ids = torch.cat([torch.arange(7), torch.arange(5)])[None]
    with torch.no_grad():
        alone = [model(input_ids=x, use_cache=False).logits for x in (a, b)]
        packed = model(input_ids=torch.cat([a, b], 1), position_ids=position_ids, use_cache=False).logits
    torch.testing.assert_close(packed[:, :7], alone[0])
    torch.testing.assert_close(packed[:, 7:], alone[1])


def test_verified_recipe_is_the_papers_on_the_verified_build(monkeypatch):
    """The verified DS-6.7B stage 1 differs from the paper's only in its data and output folder, and its data is the
    folder that recipes/oss_instruct/magicoder_verified.yaml publishes (whose first stages are the paper build's)."""
    from dataset_builder.cli import parse_config
    from dataset_builder.pipeline import CHAINS, run_dir_for

    paper = parse(ROOT / "recipes/magicoder/ds-6.7b/stage1_oss_instruct.yaml")
    verified = parse(ROOT / "recipes/magicoder/ds-6.7b-verified/stage1_oss_instruct.yaml")
    # what differs on purpose, and objects without value equality (accelerate's state)
    skip = {"dataset_name", "output_dir", "logging_dir", "distributed_state", "_n_gpu"}
    for mine, theirs in zip(verified, paper, strict=True):
        ours = {k: v for k, v in vars(mine).items() if k not in skip}
        assert ours == {k: v for k, v in vars(theirs).items() if k not in skip}
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    names = {}
    for recipe in ("magicoder.yaml", "magicoder_verified.yaml"):
        config = parse_config(["--config", str(ROOT / "recipes/oss_instruct" / recipe)])
        run_dir = None
        for stage in CHAINS[config.pipeline]:
            run_dir, _ = run_dir_for(stage, config, run_dir)
            names[recipe, stage] = run_dir
    for stage in ("seeds", "generate", "parse"):  # the teacher's answers are paid for once
        assert names["magicoder.yaml", stage].path == names["magicoder_verified.yaml", stage].path
    published = names["magicoder_verified.yaml", "publish"].path.relative_to(ROOT) / "hub"
    assert verified[0].dataset_name == published.as_posix()

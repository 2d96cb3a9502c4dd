"""Magicoder fine-tuning with TRL's SFTTrainer.

    accelerate launch --config_file recipes/accelerate_configs/ddp.yaml train_sft.py \
        --config recipes/magicoder/cl-7b/stage1_oss_instruct.yaml

Stage 1 trains a base model on OSS-Instruct; stage 2 (MagicoderS) continues from stage 1's output on
Evol-Instruct: its recipe names stage 1's folder or Hub repo (+ `model_revision`) in `model_name_or_path`. Each row
becomes the paper's training prompt through the Magicoder chat template, saved with the tokenizer; the loss is on the
response and EOS only (TRL's `completion_only_loss` on prompt/completion data). A crashed run resumes from its last
checkpoint when started again with the same `output_dir`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import trl

from oss_common.parsing import yaml_mappings

logger = logging.getLogger(__name__)


@dataclass
class ScriptArguments(trl.ScriptArguments):
    dataset_revision: str | None = field(default=None, metadata={"help": "Hub revision (tag) of the dataset."})
    dataset_mixture: dict = field(
        default_factory=dict,
        metadata={"help": "Several datasets shuffled together: {dataset: rows (int) or fraction (float <= 1)}."},
    )

    def __post_init__(self):
        if not self.dataset_name and not self.dataset_mixture:
            raise ValueError("Give `dataset_name` (a Hub id, a local folder or file) or `dataset_mixture`.")


@dataclass
class SFTConfig(trl.SFTConfig):
    resume: bool = field(
        default=True, metadata={"help": "Resume from the last checkpoint in output_dir when there is one."}
    )
    hub_tag: str | None = field(
        default=None,
        metadata={"help": "Tag the pushed commit (e.g. v1.0); stage 2 can then pin stage 1 with model_revision."},
    )
    global_batch_size: int | None = field(
        default=None,
        metadata={
            "help": "Rows per optimizer step across all processes (the paper: 512). Sets gradient_accumulation_steps "
            "= global_batch_size / (per_device_train_batch_size x processes), whatever the GPU count."
        },
    )


def apply_global_batch_size(args: SFTConfig) -> None:
    """Gradient accumulation that keeps the global batch, for any number of processes."""
    if not args.global_batch_size:
        return
    per_step = args.per_device_train_batch_size * args.world_size
    if args.global_batch_size % per_step:
        raise ValueError(
            f"global_batch_size {args.global_batch_size} is not a multiple of per_device_train_batch_size "
            f"{args.per_device_train_batch_size} x {args.world_size} processes: change one of them."
        )
    args.gradient_accumulation_steps = args.global_batch_size // per_step
    logger.info(
        "global batch %d = %d per device x %d processes x %d accumulation steps",
        args.global_batch_size,
        args.per_device_train_batch_size,
        args.world_size,
        args.gradient_accumulation_steps,
    )


def last_complete_checkpoint(output_dir: str) -> str | None:
    """The newest `checkpoint-N` that was saved to the end. The Trainer writes `trainer_state.json` last, so a run
    killed while saving leaves a folder without it (or with it cut short); resuming from that one would crash."""
    steps = {}
    for path in os.scandir(output_dir):
        match = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if match and path.is_dir():
            steps[path.path] = int(match.group(1))
    for path in sorted(steps, key=steps.get, reverse=True):
        try:
            with open(os.path.join(path, "trainer_state.json")) as f:
                json.load(f)
            return path
        except (OSError, ValueError):
            logger.warning("Skipping %s: it was not saved to the end (killed while saving?)", path)
    return None


def make_parser():
    return yaml_mappings(trl.TrlParser((ScriptArguments, SFTConfig, trl.ModelConfig)))  # dataset_mixture as YAML


def main(script_args: ScriptArguments, training_args: SFTConfig, model_args: trl.ModelConfig) -> None:
    import transformers
    from transformers import AutoTokenizer

    from oss_common.template import CHAT_TEMPLATE
    from oss_sft.data import load_training_data

    # --- setup ----------------------------------------------------------------------------------------------------
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.set_seed(training_args.seed)
    apply_global_batch_size(training_args)
    last_checkpoint = None
    if training_args.resume and os.path.isdir(training_args.output_dir):
        last_checkpoint = last_complete_checkpoint(training_args.output_dir)
        if last_checkpoint:
            logger.info("Resuming from %s", last_checkpoint)

    # --- tokenizer with the Magicoder template --------------------------------------------------------------------
    source = model_args.model_name_or_path
    parent = os.path.dirname(os.path.normpath(source))
    if parent and os.path.isdir(parent) and not os.path.exists(source):  # a local path whose folder is missing
        sys.exit(f"error: {source} does not exist. For stage 2, run stage 1 first (its output_dir is this path).")
    logger.info("Model: %s (revision %s)", source, model_args.model_revision or "main")
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            model_args.model_name_or_path, revision=model_args.model_revision, trust_remote_code=False
        )
    except OSError as err:
        sys.exit(
            f"error: cannot load {model_args.model_name_or_path!r} (revision {model_args.model_revision}): {err}\n"
            "For stage 2, run stage 1 first (or point model_name_or_path at its Hub repo and model_revision)."
        )
    if tokenizer.eos_token is None:
        sys.exit(f"error: the tokenizer of {model_args.model_name_or_path} has no EOS token; the template needs one.")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.chat_template = CHAT_TEMPLATE

    # --- data -----------------------------------------------------------------------------------------------------
    train_dataset = load_training_data(
        script_args.dataset_name,
        script_args.dataset_config,
        script_args.dataset_train_split,
        script_args.dataset_revision,
        script_args.dataset_mixture,
        training_args.seed,
        training_args.dataset_num_proc,
    )
    logger.info("Training on %d rows", len(train_dataset))

    # --- trainer --------------------------------------------------------------------------------------------------
    training_args.completion_only_loss = True
    training_args.model_init_kwargs = (training_args.model_init_kwargs or {}) | {
        "revision": model_args.model_revision,
        "dtype": model_args.dtype or "auto",
        **({"attn_implementation": model_args.attn_implementation} if model_args.attn_implementation else {}),
    }
    trainer = trl.SFTTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=trl.get_peft_config(model_args),
        quantization_config=trl.get_quantization_config(model_args),
    )

    # --- train ----------------------------------------------------------------------------------------------------
    result = trainer.train(resume_from_checkpoint=last_checkpoint)
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()

    # --- save: weights, tokenizer + template, generation config that stops at EOS, card ---------------------------
    generation_config = trainer.model.generation_config
    generation_config.eos_token_id = tokenizer.eos_token_id
    generation_config.pad_token_id = tokenizer.pad_token_id
    trainer.save_model(training_args.output_dir)
    if trainer.accelerator.is_main_process:
        from oss_sft.card import collect_hardware, write_model_card

        tokenizer.save_pretrained(training_args.output_dir)
        generation_config.save_pretrained(training_args.output_dir)  # also for LoRA, whose save is the adapter only
        write_model_card(
            training_args.output_dir,
            script_args,
            training_args,
            model_args,
            trainer_state=json.loads((Path(training_args.output_dir) / "trainer_state.json").read_text()),
            hardware=collect_hardware(trainer.accelerator.num_processes),
            elapsed_s=result.metrics["train_runtime"],
        )

    # --- push: the folder with our card (Trainer.push_to_hub would replace it with a generic one), then a tag -------
    if training_args.push_to_hub and trainer.accelerator.is_main_process:
        push(training_args)


def push(args: SFTConfig) -> None:
    from huggingface_hub import HfApi

    api = HfApi(token=args.hub_token)
    repo_id = api.create_repo(
        args.hub_model_id or os.path.basename(os.path.normpath(args.output_dir)),
        private=args.hub_private_repo,
        exist_ok=True,
    ).repo_id
    if args.hub_revision:
        api.create_branch(repo_id, branch=args.hub_revision, exist_ok=True)
    commit = api.upload_folder(
        repo_id=repo_id,
        folder_path=args.output_dir,
        revision=args.hub_revision,
        commit_message=f"Magicoder SFT: {os.path.basename(os.path.normpath(args.output_dir))}",
        ignore_patterns=["_*", "checkpoint-*", "runs/*"],
    )
    if args.hub_tag:
        api.create_tag(repo_id, tag=args.hub_tag, revision=commit.oid)
    logger.info("Pushed %s to %s%s", args.output_dir, repo_id, f" (tag {args.hub_tag})" if args.hub_tag else "")


if __name__ == "__main__":
    main(*make_parser().parse_args_and_config())

"""Magicoder fine-tuning with TRL's SFTTrainer.

    accelerate launch --quiet --config_file recipes/accelerate_configs/ddp.yaml train_sft.py \
        --config recipes/magicoder/cl-7b/stage1_oss_instruct.yaml

Stage 1 trains a base model on OSS-Instruct; stage 2 (MagicoderS) continues from stage 1's output on
Evol-Instruct: its recipe names stage 1's folder or Hub repo (+ `model_revision`) in `model_name_or_path`. Each row
becomes the paper's training prompt through the Magicoder chat template, saved with the tokenizer; the loss is on the
response and EOS only (TRL's `completion_only_loss` on prompt/completion data). A crashed run resumes from its last
checkpoint when started again with the same `output_dir`. A user error (a missing model or dataset, a bad recipe)
is one line and exit status 2, `--debug` shows its traceback; accelerate's `--quiet` keeps the launcher from adding its
own traceback when the script stops so.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import trl

from oss_common import errors
from oss_common.errors import UserError, detail
from oss_common.logs import configure_logging
from oss_common.names import is_local
from oss_common.parsing import parse, yaml_mappings
from oss_sft.checkpoints import last_complete_checkpoint, push
from oss_sft.config import ScriptArguments, SFTConfig, apply_global_batch_size

logger = logging.getLogger(__name__)


def make_parser():
    return yaml_mappings(trl.TrlParser((ScriptArguments, SFTConfig, trl.ModelConfig)))  # dataset_mixture as YAML


def main(script_args: ScriptArguments, training_args: SFTConfig, model_args: trl.ModelConfig) -> None:
    import transformers
    from transformers import AutoTokenizer

    from oss_common.template import CHAT_TEMPLATE
    from oss_sft.data import load_training_data

    # --- setup ----------------------------------------------------------------------------------------------------
    configure_logging()
    transformers.set_seed(training_args.seed)
    apply_global_batch_size(training_args)
    last_checkpoint = None
    if training_args.resume and os.path.isdir(training_args.output_dir):
        last_checkpoint = last_complete_checkpoint(training_args.output_dir)
        if last_checkpoint:
            logger.info("Resuming from %s", last_checkpoint)

    # --- tokenizer with the Magicoder template --------------------------------------------------------------------
    source = model_args.model_name_or_path
    if is_local(source) and not os.path.exists(os.path.expanduser(source)):  # a local path whose folder is missing
        raise UserError(f"{source} does not exist. For stage 2, run stage 1 first (its output_dir is this path).")
    logger.info("Model: %s (revision %s)", source, model_args.model_revision or "main")
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            model_args.model_name_or_path, revision=model_args.model_revision, trust_remote_code=False
        )
    except OSError as err:
        raise UserError(
            f"cannot load {model_args.model_name_or_path!r} (revision {model_args.model_revision}): {detail(err)}.\n"
            "For stage 2, run stage 1 first (or point model_name_or_path at its Hub repo and model_revision)."
        ) from err
    if tokenizer.eos_token is None:
        raise UserError(f"the tokenizer of {model_args.model_name_or_path} has no EOS token; the template needs one.")
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


def cli(argv: list[str] | None = None) -> int:
    """Parse and train; a user error is one line on stderr and exit status 2 (oss_common.errors)."""
    from oss_sft.data import DataError

    return errors.run(parse_and_run, argv, (DataError,))


def parse_and_run(argv: list[str]) -> None:
    try:
        args = parse(make_parser(), argv)
    except (ValueError, OSError) as err:  # bad arguments, a bad or missing --config file
        raise UserError(detail(err)) from err
    main(*args)


if __name__ == "__main__":
    sys.exit(cli())

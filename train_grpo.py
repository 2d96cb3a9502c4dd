"""GRPO on a verified build with TRL's GRPOTrainer and the project's local code reward.

    accelerate launch --quiet --config_file recipes/accelerate_configs/ddp.yaml train_grpo.py \
        --config recipes/grpo/ds-6.7b_verified.yaml

The prompts are a verified build's problems in the Magicoder template (as `train_sft.py` trains them); each
completion's code runs with the row's tests in the builder's sandbox (`oss_rl.reward.CodeReward`: all languages with
a toolchain, 1.0 for a pass, else 0.0), made once and reused by every step. A user error (a dataset without tests, a
missing model, no bubblewrap) is one line and exit status 2.
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
from oss_common.parsing import parse
from oss_rl.config import GRPOConfig, ScriptArguments

logger = logging.getLogger(__name__)


def make_parser():
    return trl.TrlParser((ScriptArguments, GRPOConfig, trl.ModelConfig))


def main(script_args: ScriptArguments, training_args: GRPOConfig, model_args: trl.ModelConfig):
    """Train; returns the code reward (its `history`: every completion's status and reward, in order)."""
    import transformers
    from transformers import AutoTokenizer

    from oss_common.template import CHAT_TEMPLATE
    from oss_rl.data import load_prompts
    from oss_rl.reward import CodeReward

    configure_logging()
    transformers.set_seed(training_args.seed)
    prompts = load_prompts(
        script_args.dataset_name,
        script_args.dataset_config,
        script_args.dataset_train_split,
        script_args.dataset_revision,
        script_args.only_passing,
        script_args.max_rows,
    )
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_args.model_name_or_path, revision=model_args.model_revision)
    except OSError as err:
        raise UserError(f"cannot load {model_args.model_name_or_path!r}: {detail(err)}") from err
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.chat_template = CHAT_TEMPLATE  # the prompt the SFT stages trained on
    # every training process on the node has its own reward: they share the node's cores
    local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    workers = script_args.reward_workers or max(1, (os.cpu_count() or 1) // local_processes)
    reward = CodeReward(
        sandbox=script_args.reward_sandbox,
        exec_timeout=script_args.reward_exec_timeout,
        exec_memory_mb=script_args.reward_exec_memory_mb,
        workers=workers,
    )
    training_args.model_init_kwargs = (training_args.model_init_kwargs or {}) | {
        "revision": model_args.model_revision,
        "dtype": model_args.dtype or "auto",
    }
    try:
        trainer = trl.GRPOTrainer(
            model=model_args.model_name_or_path,
            reward_funcs=[reward],
            args=training_args,
            train_dataset=prompts,
            processing_class=tokenizer,
            peft_config=trl.get_peft_config(model_args),
        )
        result = trainer.train()
    finally:
        reward.close()
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()
    trainer.save_model(training_args.output_dir)
    if trainer.accelerator.is_main_process:
        from oss_rl.card import write_model_card

        tokenizer.save_pretrained(training_args.output_dir)
        state = json.loads((Path(training_args.output_dir) / "trainer_state.json").read_text())
        write_model_card(
            training_args.output_dir,
            script_args,
            training_args,
            model_args,
            state.get("log_history", []),
            result.metrics["train_runtime"],
        )
    if training_args.push_to_hub and trainer.accelerator.is_main_process:
        from oss_sft.checkpoints import push

        push(training_args)
    return reward


def cli(argv: list[str] | None = None) -> int:
    """Parse and train; a user error is one line on stderr and exit status 2 (oss_common.errors)."""
    from dataset_builder.execution.sandbox import SandboxError
    from oss_sft.data import DataError

    return errors.run(parse_and_run, argv, (DataError, SandboxError))


def parse_and_run(argv: list[str]) -> None:
    try:
        args = parse(make_parser(), argv)
    except (ValueError, OSError) as err:
        raise UserError(detail(err)) from err
    main(*args)


if __name__ == "__main__":
    sys.exit(cli())

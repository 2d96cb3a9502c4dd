"""GRPO on a verified build with TRL's GRPOTrainer and the project's local code reward.

    accelerate launch --quiet --config_file recipes/accelerate_configs/ddp.yaml train_grpo.py \
        --config recipes/grpo/ds-6.7b_verified.yaml

The prompts are a verified build's problems in the Magicoder template (as `train_sft.py` trains them); each
completion's code runs with the row's tests in the builder's sandbox (`oss_rl.reward.CodeReward`: all languages with
a toolchain, 1.0 for a pass, else 0.0), made once and reused by every step. A user error (a dataset without tests, a
missing model, no bubblewrap) is one line and exit status 2.
"""

from __future__ import annotations

import logging
import os
import sys

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

    from oss_rl.card import write_model_card
    from oss_rl.data import load_prompts
    from oss_rl.reward import CodeReward
    from oss_rl.train import finish, model_init_kwargs, tokenizer_for

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
    tokenizer = tokenizer_for(model_args)
    # every training process on the node has its own reward: they share the node's cores
    local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    workers = script_args.reward_workers or max(1, (os.cpu_count() or 1) // local_processes)
    reward = CodeReward(
        sandbox=script_args.reward_sandbox,
        exec_timeout=script_args.reward_exec_timeout,
        exec_memory_mb=script_args.reward_exec_memory_mb,
        workers=workers,
    )
    training_args.model_init_kwargs = model_init_kwargs(training_args, model_args)
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

    def card(log_history, seconds):
        return write_model_card(training_args.output_dir, script_args, training_args, model_args, log_history, seconds)

    finish(trainer, result, tokenizer, training_args, card)
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

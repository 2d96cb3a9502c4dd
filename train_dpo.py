"""DPO on a verified build's preference pairs with TRL's DPOTrainer.

    accelerate launch --quiet --config_file recipes/accelerate_configs/zero2.yaml train_dpo.py \
        --config recipes/dpo/ds-6.7b_verified.yaml

The pairs are the `preference` config that publish writes for a build with several solutions per problem
(`dataset_builder/preference.py`): the Magicoder prompt, a passing answer as `chosen`, a failing one as `rejected`.
The tokenizer gets the Magicoder chat template (as in `train_sft.py`), so the prompt is the one the SFT stages
trained on. A user error (a dataset without pairs, a missing model) is one line and exit status 2.
"""

from __future__ import annotations

import logging
import sys

import trl

from oss_common import errors
from oss_common.errors import UserError, detail
from oss_common.logs import configure_logging
from oss_common.parsing import parse
from oss_rl.config import DPOConfig, DPOScriptArguments

logger = logging.getLogger(__name__)


def make_parser():
    return trl.TrlParser((DPOScriptArguments, DPOConfig, trl.ModelConfig))


def main(script_args: DPOScriptArguments, training_args: DPOConfig, model_args: trl.ModelConfig):
    """Train; returns the trainer."""
    import transformers

    from oss_rl.card import write_dpo_card
    from oss_rl.data import load_pairs
    from oss_rl.train import finish, model_init_kwargs, tokenizer_for

    configure_logging()
    transformers.set_seed(training_args.seed)
    pairs = load_pairs(
        script_args.dataset_name,
        script_args.dataset_config,
        script_args.dataset_train_split,
        script_args.dataset_revision,
        script_args.max_rows,
    )
    tokenizer = tokenizer_for(model_args)
    training_args.model_init_kwargs = model_init_kwargs(training_args, model_args)
    trainer = trl.DPOTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=pairs,
        processing_class=tokenizer,
        peft_config=trl.get_peft_config(model_args),
    )
    result = trainer.train()

    def card(log_history, seconds):
        return write_dpo_card(training_args.output_dir, script_args, training_args, model_args, log_history, seconds)

    finish(trainer, result, tokenizer, training_args, card)
    return trainer


def cli(argv: list[str] | None = None) -> int:
    """Parse and train; a user error is one line on stderr and exit status 2 (oss_common.errors)."""
    from oss_sft.data import DataError

    return errors.run(parse_and_run, argv, (DataError,))


def parse_and_run(argv: list[str]) -> None:
    try:
        args = parse(make_parser(), argv)
    except (ValueError, OSError) as err:
        raise UserError(detail(err)) from err
    main(*args)


if __name__ == "__main__":
    sys.exit(cli())

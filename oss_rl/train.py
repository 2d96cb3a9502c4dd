"""What train_dpo.py and train_grpo.py share: the tokenizer with the Magicoder template, the model's load options,
and the end of a run (metrics, weights, tokenizer, card, push)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from oss_common.errors import UserError, detail


def tokenizer_for(model_args):
    """The model's tokenizer with the Magicoder chat template (the prompt the SFT stages trained on) and a pad."""
    from transformers import AutoTokenizer

    from oss_common.template import CHAT_TEMPLATE

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_args.model_name_or_path, revision=model_args.model_revision)
    except OSError as err:
        raise UserError(f"cannot load {model_args.model_name_or_path!r}: {detail(err)}") from err
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def model_init_kwargs(training_args, model_args) -> dict:
    return (training_args.model_init_kwargs or {}) | {
        "revision": model_args.model_revision,
        "dtype": model_args.dtype or "auto",
    }


def finish(trainer, result, tokenizer, training_args, write_card: Callable[[list[dict], float], Path]) -> None:
    """Metrics and state, the weights, then on the main process the tokenizer and the card (`write_card(log history,
    seconds)`), and the push when asked (the folder with our card, as train_sft.py pushes it)."""
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()
    trainer.save_model(training_args.output_dir)
    if not trainer.accelerator.is_main_process:
        return
    tokenizer.save_pretrained(training_args.output_dir)
    state = json.loads((Path(training_args.output_dir) / "trainer_state.json").read_text())
    write_card(state.get("log_history", []), result.metrics["train_runtime"])
    if training_args.push_to_hub:
        from oss_sft.checkpoints import push

        push(training_args)

"""train_sft.py's arguments: TRL's `ScriptArguments` and `SFTConfig` with the project's own fields (`ModelConfig` as
it is), and the global batch size that sets gradient accumulation for any number of processes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import trl

logger = logging.getLogger("train_sft")


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

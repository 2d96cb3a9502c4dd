"""train_grpo.py's and train_dpo.py's arguments: TRL's `ScriptArguments`, `GRPOConfig` and `DPOConfig` with the
project's own fields (the verified build to train on; the code reward's sandbox, limits and workers); `ModelConfig`
as it is."""

from __future__ import annotations

from dataclasses import dataclass, field

import trl


@dataclass
class ScriptArguments(trl.ScriptArguments):
    dataset_revision: str | None = field(default=None, metadata={"help": "Hub revision (tag) of the dataset."})
    only_passing: bool = field(
        default=True,
        metadata={
            "help": "Train on the rows whose own solution passed its tests (`exec_status` pass): their tests can be "
            "passed. False keeps every row that has tests (a `verify_keep: all` build's failures too)."
        },
    )
    max_rows: int | None = field(default=None, metadata={"help": "The first N rows only (a smoke run)."})
    reward_sandbox: str = field(
        default="bwrap", metadata={"help": "Where completions run: bwrap (bubblewrap) or none (no isolation)."}
    )
    reward_exec_timeout: float = field(
        default=10.0, metadata={"help": "Wall-clock seconds for one completion's tests (the whole process tree)."}
    )
    reward_exec_memory_mb: int = field(default=2048, metadata={"help": "Memory of one completion's run, MiB."})
    reward_workers: int | None = field(
        default=None,
        metadata={
            "help": "Completions run at once by each process's reward (default: the node's cores shared among its "
            "training processes)."
        },
    )

    def __post_init__(self):
        if not self.dataset_name:
            raise ValueError("Give `dataset_name`: a verified build (a Hub id, its hub/ folder or a data file).")


@dataclass
class GRPOConfig(trl.GRPOConfig):
    hub_tag: str | None = field(default=None, metadata={"help": "Tag the pushed commit (e.g. v1.0)."})


@dataclass
class DPOScriptArguments(trl.ScriptArguments):
    dataset_config: str | None = field(
        default="preference", metadata={"help": "The published dataset's config of (chosen, rejected) pairs."}
    )
    dataset_revision: str | None = field(default=None, metadata={"help": "Hub revision (tag) of the dataset."})
    max_rows: int | None = field(default=None, metadata={"help": "The first N pairs only (a smoke run)."})

    def __post_init__(self):
        if not self.dataset_name:
            raise ValueError("Give `dataset_name`: a verified build with several solutions per problem.")


@dataclass
class DPOConfig(trl.DPOConfig):
    hub_tag: str | None = field(default=None, metadata={"help": "Tag the pushed commit (e.g. v1.0)."})

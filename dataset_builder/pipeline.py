"""Stages in order; each one runs its upstream first (a no-op when that is complete) and then itself.

A recipe's `pipeline` picks the chain of stages:

- `oss_instruct`: corpus -> seeds -> generate -> parse -> clean -> decontaminate -> analyze -> publish
- `evol_instruct`: evol-codealpaca-v1 -> evol -> decontaminate -> publish (the stage-2 data of MagicoderS)
- `direct`: corpus -> seeds -> pairs -> decontaminate -> publish (comment-function pairs, the paper's Table 6)

A stage's run folder is named by a fingerprint of its own inputs and its upstream's fingerprint, so the same stage
in two chains, or after a changed upstream, writes to a different folder.
"""

from __future__ import annotations

import importlib
import logging

from dataset_builder.config import STAGE_FIELDS, BuilderConfig, ConfigError
from dataset_builder.runs import RunDir, fingerprint

logger = logging.getLogger(__name__)

CHAINS = {
    "oss_instruct": ("seeds", "generate", "parse", "clean", "decontaminate", "analyze", "publish"),
    "evol_instruct": ("evol", "decontaminate", "publish"),
    "direct": ("seeds", "pairs", "decontaminate", "publish"),
}
STAGES = tuple(dict.fromkeys(stage for chain in CHAINS.values() for stage in chain))


def stage_inputs(stage: str, config: BuilderConfig) -> dict:
    if stage == "generate":
        from dataset_builder.stages.generate import fingerprint_inputs

        return fingerprint_inputs(config)
    inputs = {name: getattr(config, name) for name in STAGE_FIELDS[stage]}
    if stage == "seeds":
        from dataset_builder.stages.seeds import corpus_signature

        inputs["corpus_signature"] = corpus_signature(config)
    return inputs


def run_dir_for(stage: str, config: BuilderConfig, upstream: RunDir | None) -> tuple[RunDir, dict]:
    inputs = stage_inputs(stage, config)
    return RunDir(config.output_dir, stage, fingerprint(stage, inputs, upstream and upstream.fingerprint)), inputs


def chain_of(config: BuilderConfig) -> tuple[str, ...]:
    return CHAINS[config.pipeline]


def run_stage(stage: str, config: BuilderConfig) -> RunDir:
    chain = chain_of(config)
    if stage not in chain:
        raise ConfigError(
            f"Stage {stage!r} is not part of the {config.pipeline!r} pipeline ({' -> '.join(chain)}); "
            f"set `pipeline` to one of {sorted(name for name, c in CHAINS.items() if stage in c)}."
        )
    index = chain.index(stage)
    upstream = run_stage(chain[index - 1], config) if index else None
    run_dir, inputs = run_dir_for(stage, config, upstream)
    module = importlib.import_module(f"dataset_builder.stages.{stage}")
    if run_dir.is_complete():
        logger.info("%s: already complete in %s (nothing to do)", stage, run_dir.path)
    else:
        logger.info("%s: running in %s", stage, run_dir.path)
        run_dir.prepare(config.to_dict(), inputs, upstream)
        module.run(config, run_dir, upstream)
    if hasattr(module, "post_complete"):  # e.g. publish pushes a finished build to the Hub
        module.post_complete(config, run_dir)
    return run_dir

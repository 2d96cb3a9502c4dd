"""Stages in order; each one runs its upstream first (a no-op when that is complete) and then itself.

A recipe's `pipeline` picks the chain of stages:

- `oss_instruct`: corpus -> seeds -> generate -> parse -> clean -> decontaminate -> analyze -> publish
- `evol_instruct`: evol-codealpaca-v1 -> evol -> decontaminate -> publish (the stage-2 data of MagicoderS)
- `direct`: corpus -> seeds -> pairs -> decontaminate -> publish (comment-function pairs, the paper's Table 6)
- `oss_instruct_verified`: `oss_instruct` with tests -> execute after parse: the teacher writes tests for each row and
  solution + tests run in the sandbox (beyond the paper; its seeds, generate and parse folders are oss_instruct's)
- `verify`: an existing dataset (`verify_dataset`) -> source -> tests -> execute -> decontaminate -> publish

With `solutions_per_problem` > 1 the two verified chains get `solutions` before `tests` (more solutions of each
problem, all executed); with 1 it is not in the chain, so the run folders are those of a build without the field.

A stage's run folder is named by a fingerprint of its own inputs and its upstream's fingerprint, so the same stage
in two chains, or after a changed upstream, writes to a different folder.
"""

from __future__ import annotations

import logging

from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.runs import RunDir, fingerprint
from dataset_builder.stages.analyze import Analyze
from dataset_builder.stages.base import Stage
from dataset_builder.stages.clean import Clean
from dataset_builder.stages.decontaminate import Decontaminate
from dataset_builder.stages.evol import Evol
from dataset_builder.stages.execute import Execute
from dataset_builder.stages.generate import Generate
from dataset_builder.stages.pairs import Pairs
from dataset_builder.stages.parse import Parse
from dataset_builder.stages.publish import Publish
from dataset_builder.stages.seeds import Seeds
from dataset_builder.stages.solutions import Solutions
from dataset_builder.stages.source import Source
from dataset_builder.stages.tests import Tests

logger = logging.getLogger(__name__)

# Every stage by name (the CLI's commands, in this order); a stage module imports nothing heavy at import time.
STAGES: dict[str, type[Stage]] = {
    stage.name: stage
    for stage in (
        Seeds,
        Generate,
        Parse,
        Solutions,
        Tests,
        Execute,
        Clean,
        Decontaminate,
        Analyze,
        Publish,
        Evol,
        Pairs,
        Source,
    )
}
CHAINS = {
    "oss_instruct": ("seeds", "generate", "parse", "clean", "decontaminate", "analyze", "publish"),
    "oss_instruct_verified": (
        "seeds",
        "generate",
        "parse",
        "tests",
        "execute",
        "clean",
        "decontaminate",
        "analyze",
        "publish",
    ),
    "evol_instruct": ("evol", "decontaminate", "publish"),
    "direct": ("seeds", "pairs", "decontaminate", "publish"),
    "verify": ("source", "tests", "execute", "decontaminate", "publish"),
}


def stage_inputs(stage: str, config: BuilderConfig) -> dict:
    """What the stage's fingerprint hashes for this recipe."""
    return STAGES[stage]().fingerprint_inputs(config)


def run_dir_for(stage: str, config: BuilderConfig, upstream: RunDir | None) -> tuple[RunDir, dict]:
    inputs = stage_inputs(stage, config)
    fp = fingerprint(stage, STAGES[stage].version, inputs, upstream and upstream.fingerprint)
    return RunDir(config.output_dir, stage, fp), inputs


def chain_of(config: BuilderConfig) -> tuple[str, ...]:
    """The recipe's chain of stages: `CHAINS[pipeline]`, with `solutions` before `tests` when several solutions per
    problem are asked for."""
    chain = CHAINS[config.pipeline]
    if config.solutions_per_problem > 1 and "tests" in chain:
        at = chain.index("tests")
        chain = (*chain[:at], "solutions", *chain[at:])
    return chain


def run_stage(stage: str, config: BuilderConfig) -> RunDir:
    chain = chain_of(config)
    if stage not in chain:
        raise ConfigError(
            f"Stage {stage!r} is not part of the {config.pipeline!r} pipeline ({' -> '.join(chain)}); "
            + (
                "it runs with `solutions_per_problem` > 1 in the pipelines with tests ("
                + ", ".join(sorted(name for name, c in CHAINS.items() if "tests" in c))
                + ")."
                if stage == "solutions"
                else f"set `pipeline` to one of {sorted(name for name, c in CHAINS.items() if stage in c)}."
            )
        )
    index = chain.index(stage)
    upstream = run_stage(chain[index - 1], config) if index else None
    run_dir, inputs = run_dir_for(stage, config, upstream)
    step = STAGES[stage]()
    if run_dir.is_complete():
        logger.info("%s: already complete in %s (nothing to do)", stage, run_dir.path)
    else:
        logger.info("%s: running in %s", stage, run_dir.path)
        run_dir.prepare(config.to_dict(), inputs, upstream)
        step.run(config, run_dir, upstream)
    step.reached(config, run_dir)  # e.g. publish pushes a finished build to the Hub
    return run_dir

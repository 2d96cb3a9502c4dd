"""`python -m dataset_builder COMMAND --config RECIPE.yaml [--field value ...]`.

COMMAND is a stage (run with everything upstream of it), `build` (the recipe's whole pipeline), or `evol`/`pairs`
(the whole evol_instruct/direct pipeline). Recipe fields come from the YAML file and any of them can be overridden
on the command line with the same name (TRL's `TrlParser`).
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import types

import yaml

from dataset_builder.config import FINGERPRINT, BuilderConfig, ConfigError
from dataset_builder.pipeline import CHAINS, STAGES
from oss_common import errors
from oss_common.parsing import parse, yaml_mappings

# Commands that run a whole pipeline: the recipe's own (build), or a fixed one.
PIPELINE_COMMANDS = {"evol": "evol_instruct", "pairs": "direct"}
COMMANDS = (*STAGES, "build")
USAGE = f"""usage: python -m dataset_builder {{{",".join(COMMANDS)}}} [--config RECIPE.yaml] [--FIELD VALUE ...]

  seeds          sample 1-15 line snippets from the corpus
  generate       ask the teacher for a problem and solution per seed (--dry_run estimates tokens and cost)
  parse          split answers into problem / solution rows
  clean          drop duplicate rows (exact; near-duplicates with --near_dedup true)
  decontaminate  drop rows that contain benchmark strings; report what matched
  analyze        figures: token lengths, language mix, similarity to HumanEval, categories (paper Figs. 3, 6, 7)
  publish        write the dataset in Hub layout with its card; --push_to_hub ORG/NAME pushes and tags it
  build          run the recipe's whole pipeline (default oss_instruct: every stage above, in order)
  evol           the evol_instruct pipeline: evol-codealpaca-v1 -> decontaminate -> publish
  pairs          the direct pipeline: comment-function pairs from the seed documents -> decontaminate -> publish

`python -m dataset_builder STAGE --help` lists every recipe field. An error is one line; `--debug` (or
OSS_INSTRUCT_DEBUG=1) shows its traceback. After Ctrl-C, the same command resumes."""


def make_parser():
    from trl import TrlParser

    class Parser(TrlParser):
        @staticmethod
        def _parse_dataclass_field(parser, field):
            # A field's metadata become argparse keywords: leave out the fingerprint marks (config.py), not one.
            if FINGERPRINT in field.metadata:
                field = copy.copy(field)
                field.metadata = types.MappingProxyType({k: v for k, v in field.metadata.items() if k != FINGERPRINT})
            TrlParser._parse_dataclass_field(parser, field)

    # Mapping fields (languages, corpus_data_dirs, ...) are written on the CLI as YAML/JSON: {python: 10, rust: 2}.
    return yaml_mappings(Parser([BuilderConfig], exit_on_error=False))


def parse_config(argv: list[str]) -> BuilderConfig:
    try:
        (config,) = parse(make_parser(), argv)
    except (argparse.ArgumentError, ValueError, TypeError, FileNotFoundError, yaml.YAMLError) as err:
        raise ConfigError(f"Bad recipe: {err}") from err
    return config


def main(argv: list[str] | None = None) -> int:
    """Run a command; a user error prints one line and returns 2, Ctrl-C stops cleanly (oss_common.errors)."""
    from dataset_builder.hub_push import PublishError
    from dataset_builder.teacher.base import TeacherError

    return errors.run(run_command, argv, (ConfigError, TeacherError, PublishError))


def run_command(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    command, rest = argv[0], argv[1:]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("openai").setLevel(logging.WARNING)  # retries are counted on the progress bar

    from dataset_builder.pipeline import run_stage
    from dataset_builder.stages.generate import StopRequested

    try:
        config = parse_config(rest)
        if command in PIPELINE_COMMANDS:
            config.pipeline = PIPELINE_COMMANDS[command]
        whole = command == "build" or command in PIPELINE_COMMANDS
        run_dir = run_stage(CHAINS[config.pipeline][-1] if whole else command, config)
    except StopRequested:
        return 0
    runs = run_dir.lineage()
    print("\n".join(["", "stage          rows kept", *(run.summary() for run in runs)]))
    published = run_dir.stage == "publish" and (run_dir.path / "hub").exists()
    output = run_dir.path / "hub" if published else run_dir.dataset_path
    print(f"{command}: done -> {output}")
    if config.local_teacher and any(run.stage == "generate" for run in runs):
        from dataset_builder.stages.generate import uses_local_teacher

        if uses_local_teacher(config):
            outcome = (
                "its answers were steered into the two sections, so the rows above parse, but they are toy data"
                if config.local_teacher_guided
                else "so (nearly) every answer is rejected above"
            )
            print(
                f"The teacher was the local SmolLM2-135M: far too weak for the OSS-Instruct prompt; {outcome}. Set "
                "OPENAI_API_KEY (and OPENAI_BASE_URL for another server) to make real data; see README.md for the "
                "paper-scale recipe."
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

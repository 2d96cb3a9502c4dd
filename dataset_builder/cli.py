"""`python -m dataset_builder COMMAND --config RECIPE.yaml [--field value ...]`.

COMMAND is a stage (run with everything upstream of it), `build` (the recipe's whole pipeline), or `evol`/`pairs`
(the whole evol_instruct/direct pipeline). Recipe fields come from the YAML file and any of them can be overridden
on the command line with the same name (TRL's `TrlParser`).

Exit status: 0 done, 1 the last stage kept no rows (the message names the stage that lost them and why; the recipe's
`allow_empty: true` makes it 0), 2 a user error (bad recipe, unreachable teacher, failed push).
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import types

import yaml

from dataset_builder.config import FINGERPRINT, BuilderConfig, ConfigError
from dataset_builder.pipeline import STAGES, chain_of
from dataset_builder.runs import RunDir
from oss_common import errors
from oss_common.logs import configure_logging
from oss_common.parsing import parse, yaml_mappings

# Commands that run a whole pipeline: the recipe's own (build), or a fixed one.
PIPELINE_COMMANDS = {"evol": "evol_instruct", "pairs": "direct", "verify": "verify"}
# What to try when a stage drops every row, by the drop reasons the stages count (each stage's stats.json).
_FOLLOW_PROMPT = "use a teacher that follows the prompt"
_SOURCE_FILES = "point `corpus` at source files in the recipe's languages"
_EXEC_OUTPUT = (
    "read `exec_output` in the execute stage's rejects/ (or keep every row with its status: verify_keep: all)"
)
EMPTY_HINTS = {
    "truncated": "raise max_tokens",
    "no_sections": _FOLLOW_PROMPT,
    "missing_problem_section": _FOLLOW_PROMPT,
    "missing_solution_section": _FOLLOW_PROMPT,
    "empty_problem": _FOLLOW_PROMPT,
    "empty_solution": _FOLLOW_PROMPT,
    "contaminated": "check the corpus: every row matched a benchmark",
    "too_large": "raise max_file_bytes",
    "long_line": "raise max_line_length",
    "minified": "raise max_mean_line_length",
    "generated": "set skip_generated: false",
    "binary": _SOURCE_FILES,
    "not_utf8": _SOURCE_FILES,
    "empty": _SOURCE_FILES,
    "blank_snippet": _SOURCE_FILES,
    "no_pairs": "use a corpus whose functions have doc comments",
    "empty_instruction": "check `evol_dataset`: its rows have no instruction",
    "empty_response": "check `evol_dataset`: its rows have no response",
    "tests_truncated": "raise tests_max_tokens",
    "no_tests": _FOLLOW_PROMPT,
    "no_checks": _FOLLOW_PROMPT,
    "no_solution_code": "use rows whose solution has a code block",
    "unsupported_language": "verify rows in python, cpp, java, typescript, shell, csharp, rust, php or swift",
    "no_toolchain": "install the toolchains: bash dataset_builder/execution/install_toolchains.sh",
    "tests_incomplete": "see each row's exec_detail: the tests never finished (an exit or exit hook in the solution, "
    "or tests with no check that ran)",
    **dict.fromkeys(("fail", "compile_error", "runtime_error", "timeout", "memory", "output_limit"), _EXEC_OUTPUT),
}
COMMANDS = (*STAGES, "build", "verify")
USAGE = f"""usage: python -m dataset_builder {{{",".join(COMMANDS)}}} [--config RECIPE.yaml] [--FIELD VALUE ...]

  seeds          sample 1-15 line snippets from the corpus
  generate       ask the teacher for a problem and solution per seed (--dry_run estimates tokens and cost)
  parse          split answers into problem / solution rows
  tests          (verified pipelines) ask the teacher for tests of each row's problem and solution
  execute        (verified pipelines) run solution + tests in the bubblewrap sandbox; keep the rows that pass
  clean          drop duplicate rows (exact; near-duplicates with --near_dedup true)
  decontaminate  drop rows that contain benchmark strings; report what matched
  analyze        figures: token lengths, language mix, similarity to HumanEval, categories (paper Figs. 3, 6, 7)
  publish        write the dataset in Hub layout with its card; --push_to_hub ORG/NAME pushes and tags it
  build          run the recipe's whole pipeline (default oss_instruct: seeds ... publish; oss_instruct_verified
                 adds tests and execute after parse)
  evol           the evol_instruct pipeline: evol-codealpaca-v1 -> decontaminate -> publish
  pairs          the direct pipeline: comment-function pairs from the seed documents -> decontaminate -> publish
  verify         the verify pipeline on an existing dataset (--verify_dataset ID_OR_PATH, e.g.
                 ise-uiuc/Magicoder-OSS-Instruct-75K): source -> tests -> execute -> decontaminate -> publish
  source         (verify pipeline) load verify_dataset in the OSS-Instruct or Evol-Instruct schema

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
    configure_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("openai").setLevel(logging.WARNING)  # retries are counted on the progress bar

    from dataset_builder import preflight
    from dataset_builder.pipeline import run_stage
    from dataset_builder.stages.generate import StopRequested

    try:
        config = parse_config(rest)
        if command in PIPELINE_COMMANDS:
            config.pipeline = PIPELINE_COMMANDS[command]
        whole = command == "build" or command in PIPELINE_COMMANDS
        target = chain_of(config)[-1] if whole else command
        if config.dry_run:
            preflight.dry_run(config, target)
            return 0
        preflight.check(config, target)
        run_dir = run_stage(target, config)
    except StopRequested:
        return 0
    return finish(command, config, run_dir)


def finish(command: str, config: BuilderConfig, run_dir: RunDir) -> int:
    """Print the rows each stage kept and where the result is; 1 when the last stage kept no rows (unless the recipe
    says `allow_empty`)."""
    runs = run_dir.lineage()
    print("\n".join(["", "stage          rows kept", *(run.summary() for run in runs)]))
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
    if any(run.stage == "execute" and run.is_complete() for run in runs):
        print_funnel(config, runs)
    if run_dir.stats()["kept"] == 0 and not config.allow_empty:
        print(
            f"error: {command} kept no rows: {where_rows_were_lost(runs)}. The completed stages stay under "
            f"{config.output_dir} (set allow_empty: true to accept an empty result).",
            file=sys.stderr,
        )
        return 1
    hub = run_dir.path / "hub"
    if hub.exists():
        print(f"{command}: done -> {hub} (train on it, or push it with --push_to_hub ORG/NAME)")
    elif run_dir.stage == "publish":
        print(f"{command}: done; no rows, so nothing was published (allow_empty)")
    else:
        print(f"{command}: done -> {run_dir.dataset_path} (a stage's rows; `build` publishes a dataset to train on)")
    return 0


def print_funnel(config: BuilderConfig, runs: list[RunDir]) -> None:
    """The verification funnel per language, as the card shows it (`verification_report.funnel`)."""
    from dataset_builder import verification_report
    from dataset_builder.stages.generate import uses_local_teacher

    table = verification_report.funnel(runs, config.verify_keep)
    header = ["language", *table["columns"]]
    cells = [header, *([str("-" if v is None else v) for v in row] for row in table["rows"])]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print("\nverification funnel (rows per language)")
    for row in cells:
        padded = [
            cell.rjust(width) if i else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(padded))
    if config.local_teacher and uses_local_teacher(config):
        print(
            "The local toy teacher (SmolLM2-135M) writes neither working solutions nor meaningful tests (its "
            "tests are started for it, and a check like `assert 0 == 0` passes whatever the solution does): the "
            "funnel shows the sandbox working, not a pass rate. With a real teacher, the rows that pass are the "
            "verified data."
        )


def where_rows_were_lost(runs: list[RunDir]) -> str:
    """'parse kept 0 of 8: truncated 7, no_sections 1 — raise max_tokens ...' for the first stage that kept no rows."""
    for run in runs:
        stats = run.stats()
        if stats["kept"] == 0:
            break
    dropped = sorted(stats["dropped"].items(), key=lambda item: (-item[1], item[0]))
    line = f"{run.stage} kept 0 of {stats['rows_in']}"
    if dropped:
        line += ": " + ", ".join(f"{reason} {rows}" for reason, rows in dropped)
    hints = dict.fromkeys(EMPTY_HINTS[reason] for reason, _ in dropped if reason in EMPTY_HINTS)
    return line + (" — " + " or ".join(hints) if hints else "")


if __name__ == "__main__":
    sys.exit(main())

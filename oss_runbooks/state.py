"""What the paper runbooks need to know about a step before running it, computed from the recipes; nothing runs.

    python -m oss_runbooks.state dataset COMMAND --config RECIPE [builder overrides]   # RUN_DIR<TAB>DATASET_NAME
    python -m oss_runbooks.state pushed RUN_DIR REPO_ID                                # yes | no
    python -m oss_runbooks.state eval-done --config RECIPE --model_name_or_path M ...  # done PATH | todo PATH
    python -m oss_runbooks.state field RECIPE KEY                                      # the YAML value

`dataset` parses its arguments exactly as `python -m dataset_builder COMMAND` does and walks the recipe's chain of
stages through the same fingerprints, so it names the `publish` run folder the builder writes (complete when it holds
`stats.json`). `eval-done` parses its arguments as `python -m eval` does and says whether `results.json` already holds
every benchmark of the run, complete (or, for a `--limit N` run, its first N tasks), with the same settings. Errors
(a bad recipe or flag) exit 2 with the reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def dataset(argv: list[str]) -> str:
    """The builder's final run folder for `COMMAND --config RECIPE ...`, and the dataset's name."""
    from dataset_builder.cli import PIPELINE_COMMANDS, parse_config
    from dataset_builder.pipeline import chain_of, run_dir_for

    command, rest = argv[0], argv[1:]
    config = parse_config(rest)
    if command in PIPELINE_COMMANDS:  # as the builder's own CLI does
        config.pipeline = PIPELINE_COMMANDS[command]
    run_dir = None
    for stage in chain_of(config):
        run_dir, _ = run_dir_for(stage, config, run_dir)
    return f"{run_dir.path}\t{config.dataset_name}"


def pushed(run_dir: str, repo_id: str) -> str:
    """Whether the builder recorded a push of this build to repo_id (publish writes pushes.json after each one)."""
    from dataset_builder.hub_push import PUSHES_FILE

    path = Path(run_dir) / PUSHES_FILE
    records = json.loads(path.read_text()) if path.exists() else []
    return "yes" if any(record.get("repo_id") == repo_id for record in records) else "no"


def eval_done(argv: list[str]) -> str:
    """`done PATH` when results.json has every benchmark complete with these settings, else `todo PATH`."""
    from eval.__main__ import make_parser
    from eval.bigcode_tasks import benchmark_settings
    from eval.config import BIGCODE_BENCHMARKS
    from eval.run import bigcode_options, run_folder_name, settings

    (config,) = make_parser().parse_args_and_config(argv)
    path = Path(config.output_dir).expanduser() / run_folder_name(config) / "results.json"
    if not path.exists():
        return f"todo {path}"
    results = json.loads(path.read_text(encoding="utf-8"))
    same = results.get("settings") == settings(config) and results.get("model", {}).get("backend") == config.backend
    scored = results.get("benchmarks", {})

    def finished(name: str) -> bool:  # a --limit run is finished when it scored its first `limit` tasks
        entry = scored.get(name, {})
        # a bigcode benchmark records the settings it ran with (precision, ...), not the top-level EvalPlus ones
        if name in BIGCODE_BENCHMARKS:
            if entry.get("settings") != benchmark_settings(name, **bigcode_options(config, name)):
                return False
        if entry.get("complete"):
            return True
        total = entry.get("dataset", {}).get("n_tasks")
        return bool(config.limit and total and entry.get("n_tasks") == min(config.limit, total))

    complete = all(finished(name) for name in config.benchmarks)
    return f"{'done' if same and complete else 'todo'} {path}"


def field(recipe: str, key: str) -> str:
    import yaml

    value = yaml.safe_load(Path(recipe).read_text()).get(key)
    if value is None:
        raise ValueError(f"{recipe} has no `{key}`: add it to the recipe.")
    return str(value)


COMMANDS = {"dataset": dataset, "pushed": pushed, "eval-done": eval_done, "field": field}
# the positional arguments of each command; the others take a command line of their own
ARITY = {"pushed": 2, "field": 2}


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else (None, [])
    if command not in COMMANDS or len(rest) != ARITY.get(command, len(rest)):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(COMMANDS[command](*rest) if command in ARITY else COMMANDS[command](rest))
    except (ValueError, TypeError, OSError) as err:  # ConfigError is a ValueError; bad flags raise ValueError too
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

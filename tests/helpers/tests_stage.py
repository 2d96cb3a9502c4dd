"""Running the tests stage on hand-made parsed rows, the way `pipeline.run_stage` runs a stage (it is in no chain yet).

`python -m tests.helpers.tests_stage UPSTREAM_RUN_DIR BUILDER_ARGS...` runs it in a child process (the kill -9 test).
"""

import sys

from dataset_builder.runs import DropCounter, RunDir, fingerprint
from dataset_builder.stages.tests import Tests


def make_upstream(output_dir, rows: list[dict]) -> RunDir:
    """A complete parse-like run folder holding `rows` (raw_index, lang, problem, solution, ...)."""
    from datasets import Dataset

    upstream = RunDir(output_dir, "parse", "handmade")
    upstream.path.mkdir(parents=True, exist_ok=True)
    rejects = Dataset.from_dict({"raw_index": [], "reason": []})
    upstream.save(Dataset.from_list(rows), rejects, DropCounter(kept=len(rows)))
    return upstream


def stage_run_dir(config, upstream: RunDir) -> tuple[RunDir, dict]:
    inputs = Tests().fingerprint_inputs(config)
    return RunDir(
        config.output_dir, "tests", fingerprint("tests", Tests.version, inputs, upstream.fingerprint)
    ), inputs


def run_tests_stage(config, upstream: RunDir) -> RunDir:
    run_dir, inputs = stage_run_dir(config, upstream)
    if not run_dir.is_complete():
        run_dir.prepare(config.to_dict(), inputs, upstream)
        Tests().run(config, run_dir, upstream)
    return run_dir


if __name__ == "__main__":
    from dataset_builder.cli import parse_config

    run_tests_stage(parse_config(sys.argv[2:]), RunDir.at(sys.argv[1]))

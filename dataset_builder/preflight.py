"""Check before spending: what the stages still to run will need, checked cheaply before the first teacher request.

`check(config, target)` looks at the stages of the recipe's chain up to `target` that are not complete yet (no
`stats.json`) and collects every problem it finds: the corpus resolves and the languages are known (seeds), the
teacher answers `/v1/models` with the key and lists the model (generate), every benchmark can be loaded or is skipped
(decontaminate), the Hub token can write when `push_to_hub` is set (publish). It raises one `ConfigError` that lists
them all, one line each with its fix (the teacher is checked once, also for the tests stage). `dry_run(config,
target)` runs the same check, then prints the estimate of the stages that ask the teacher (generate, tests) without
writing anything under `output_dir`.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from dataset_builder import benchmarks, corpus_readers
from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.pipeline import chain_of, run_dir_for
from dataset_builder.stages import generate
from dataset_builder.teacher.base import TeacherError
from oss_common.openai_env import endpoint_name

TEACHER_CHECK_TIMEOUT = 10.0  # seconds for the teacher's /v1/models
HUB_CHECK_TIMEOUT = 10.0  # seconds for the Hub's dataset info


def stages_up_to(config: BuilderConfig, target: str) -> tuple[str, ...]:
    chain = chain_of(config)
    return chain[: chain.index(target) + 1]


def pending_stages(config: BuilderConfig, target: str) -> list[str]:
    """The stages of the chain up to `target` whose run folder is not complete, in order."""
    stages = stages_up_to(config, target)
    pending, upstream = [], None
    try:
        for stage in stages:
            run_dir, _ = run_dir_for(stage, config, upstream)
            if not run_dir.is_complete():
                pending.append(stage)
            upstream = run_dir
    except ConfigError:  # the corpus does not resolve, so no stage after it can be complete
        return list(stages)
    return pending


def corpus_problems(config: BuilderConfig) -> list[str]:
    """The corpus resolves (the languages were checked when the recipe was read: `config_checks`)."""
    try:
        corpus_readers.resolve_corpus(config)
    except ConfigError as err:
        return [str(err)]
    return []


def _first_line(err: BaseException) -> str:
    """`Type: message`, its first line only (Hub errors carry request details on the next ones)."""
    return f"{type(err).__name__}: {err}".split("\n")[0]


def _hub_dataset_available(source: benchmarks.HubSource) -> str | None:
    """None when the Hub (or the local Hub cache) has the dataset; otherwise why not."""
    from huggingface_hub import HfApi, constants

    try:
        info = HfApi().dataset_info(source.path, revision=source.revision, timeout=HUB_CHECK_TIMEOUT)
    except Exception as err:  # offline, missing, gated: any failure means it cannot be downloaded now
        cached = Path(constants.HF_HUB_CACHE) / f"datasets--{source.path.replace('/', '--')}"
        return None if cached.is_dir() else _first_line(err)
    files = {sibling.rfilename for sibling in info.siblings or []}
    if source.data_files and files and source.data_files not in files:
        return f"the dataset has no file {source.data_files!r}"
    return None


def benchmark_problems(config: BuilderConfig) -> list[str]:
    """Local and packaged benchmarks are loaded (cheap); Hub ones are looked up, not downloaded."""
    try:
        benchmarks.check_names(config)
    except ConfigError as err:
        return [str(err)]
    problems = []
    for name in config.benchmarks:
        if name in config.skip_benchmarks:
            continue
        spec = config.benchmark_sources.get(name)
        try:
            kind, where = benchmarks.resolve_source(name, spec)
            if kind != "hub":
                benchmarks.load_benchmark(name, spec)
            elif (why := _hub_dataset_available(where)) is not None:
                problems.append(str(benchmarks.load_error(name, where, why)))
        except ConfigError as err:
            problems.append(str(err))
    return problems


def teacher_problems(config: BuilderConfig) -> list[str]:
    """The teacher answers /v1/models with the key and lists the model (a server without that route is not asked)."""
    if generate.uses_local_teacher(config) or config.teacher_backend == "vllm":
        return []  # started by the builder itself
    if config.teacher_backend == "openai_batch" and (config.batch_results_files or config.batch_write_only):
        return []  # nothing is sent
    import openai

    from dataset_builder.teacher.openai_api import fatal_message, make_client

    settings = generate.teacher_settings(config, config.teacher_model, config.teacher_base_url)
    where = endpoint_name(config.teacher_base_url)
    try:
        client = make_client(settings, sync=True).with_options(timeout=TEACHER_CHECK_TIMEOUT, max_retries=0)
        listed = [model.id for model in client.models.list()]
    except TeacherError as err:
        return [str(err)]
    except openai.NotFoundError:
        return []  # the server has no /v1/models: the first request will tell
    except openai.APIStatusError as err:
        return [fatal_message(err, config.teacher_base_url, config.teacher_model)]
    except openai.APIConnectionError as err:
        return [f"The teacher at {where} cannot be reached ({err}). Start it, or fix `teacher_base_url`."]
    if listed and config.teacher_model not in listed:
        shown = ", ".join(listed[:10]) + (", ..." if len(listed) > 10 else "")
        return [
            f"The teacher at {where} has no model {config.teacher_model!r} (it lists {shown}): fix `teacher_model`."
        ]
    return []


def hub_problems(config: BuilderConfig) -> list[str]:
    """The Hub answers and the token may write, when the build pushes."""
    if not config.push_to_hub:
        return []
    from huggingface_hub import HfApi

    try:
        auth = HfApi().whoami().get("auth", {}).get("accessToken", {})
    except Exception as err:  # offline, no token, a bad token: each is a reason not to start
        message = (
            f"Cannot push to {config.push_to_hub}: the Hub did not accept the token ({_first_line(err)}). Log in with "
            "`hf auth login` or set HF_TOKEN to a token with write access, or drop `push_to_hub`."
        )
        return [message]
    if auth.get("role") == "read":
        return [f"Cannot push to {config.push_to_hub}: the Hub token is read-only. Use a token with write access."]
    return []


def execution_problems(config: BuilderConfig) -> list[str]:
    """The sandbox runs (bubblewrap installed and allowed to make namespaces); missing toolchains are only warned
    about: their rows are counted as `no_toolchain`, never silently dropped."""
    import logging

    from dataset_builder.execution import toolchains
    from dataset_builder.execution.sandbox import SandboxError
    from dataset_builder.stages.execute import make_sandbox

    try:
        make_sandbox(config)
    except SandboxError as err:
        return [str(err)]
    languages = config.languages if config.pipeline != "verify" else toolchains.LANGUAGES
    missing = [lang for lang in languages if lang in toolchains.LANGUAGES and toolchains.find(lang) is None]
    for lang in missing:
        logging.getLogger(__name__).warning(
            "execute: no %s toolchain here, so %s rows will be counted as no_toolchain (install: %s)",
            lang,
            lang,
            toolchains.install_hint(lang),
        )
    return []


def source_problems(config: BuilderConfig) -> list[str]:
    """`verify_dataset` is set and is a local file or folder, or a Hub dataset that answers (not downloaded)."""
    if not config.verify_dataset:
        return [
            "The verify pipeline needs `verify_dataset` (`--verify_dataset ID_OR_PATH`): a Hub id or a local file."
        ]
    if Path(config.verify_dataset).expanduser().exists():
        return []
    source = benchmarks.HubSource(config.verify_dataset, None, config.verify_split, config.verify_revision)
    problem = _hub_dataset_available(source)
    return [f"verify_dataset: {problem}"] if problem else []


CHECKS = {
    "seeds": corpus_problems,
    "source": source_problems,
    "generate": teacher_problems,
    "solutions": teacher_problems,
    "tests": teacher_problems,
    "execute": execution_problems,
    "decontaminate": benchmark_problems,
}


def check(config: BuilderConfig, target: str) -> None:
    """Raise one ConfigError listing every problem the stages up to `target` would meet; nothing is written."""
    if target not in chain_of(config):
        return  # run_stage says which pipelines have it
    pending = pending_stages(config, target)
    checks = dict.fromkeys(CHECKS[stage] for stage in pending if stage in CHECKS)  # the teacher is asked once
    problems = [problem for check_stage in checks for problem in check_stage(config)]
    if "publish" in stages_up_to(config, target):
        problems += hub_problems(config)  # publish pushes whenever it is reached, complete or not
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(f"{len(problems)} problems found before anything was spent:\n{lines}")


def dry_run(config: BuilderConfig, target: str) -> None:
    """The preflight, then the token and cost estimate of the stages up to `target` that ask the teacher (generate,
    tests); writes nothing under `output_dir`."""
    check(config, target)
    stages = stages_up_to(config, target)
    if not {"generate", "solutions", "tests"} & set(stages):
        print(f"Dry run: the checks passed; {target} sends no teacher requests. Nothing was run.")
        return
    with tempfile.TemporaryDirectory(prefix="dry-run-seeds-") as scratch:
        seeds = _seeds(config, scratch) if "seeds" in stages else None
        if "generate" in stages:
            seeds_dir, _ = run_dir_for("seeds", config, None)
            generate_dir, _ = run_dir_for("generate", config, seeds_dir)
            responses = generate_dir.path / "responses.jsonl"
            answered = list(generate.read_answers(responses)) if responses.exists() else []
            generate.print_estimate(config, seeds, answered)
        if "solutions" in stages:
            _solutions_estimate(config, seeds)
        if "tests" in stages:
            _tests_estimate(config, seeds)
        if "execute" in stages:
            _executions(config)


def _seeds(config: BuilderConfig, scratch: str):
    """The seeds: the complete run folder's, or made in `scratch` (the seeds stage sends nothing)."""
    from dataset_builder.pipeline import run_stage

    seeds_dir, _ = run_dir_for("seeds", config, None)
    if seeds_dir.is_complete():
        return seeds_dir.load()
    return run_stage("seeds", dataclasses.replace(config, output_dir=scratch)).load()


def _upstream_of(config: BuilderConfig, stage: str):
    """(the run folder before `stage` in the recipe's chain, `stage`'s own run folder)."""
    chain = chain_of(config)
    upstream = None
    for earlier in chain[: chain.index(stage)]:
        upstream, _ = run_dir_for(earlier, config, upstream)
    return upstream, run_dir_for(stage, config, upstream)[0]


def _solutions_estimate(config: BuilderConfig, seeds) -> None:
    """The solutions stage's estimate: from the parsed rows when parse is complete, else from the seeds."""
    from dataset_builder.stages import solutions
    from dataset_builder.stages.tests import ASSUMED_PARSE_RATE, question_rows

    upstream, own = _upstream_of(config, "solutions")
    journal = own.path / solutions.JOURNAL
    answered = list(generate.read_answers(journal)) if journal.exists() else []
    if upstream.is_complete():
        solutions.print_estimate(config, question_rows(upstream.load()), answered)
        return
    if seeds is None:
        print("Dry run of the solutions stage: the rows are known once the source stage has run. Nothing was sent.")
        return
    from collections import Counter

    est = solutions.assumed_estimate(config, Counter(seeds["lang"]), ASSUMED_PARSE_RATE)
    teacher = generate.teacher_name(config)
    print(
        f"Dry run of the solutions stage, {teacher} ({config.teacher_backend}): ~{est['requests']} requests to send "
        f"({config.solutions_per_problem - 1} per row; {ASSUMED_PARSE_RATE:.0%} of the seeds assumed to parse, "
        "languages with a test harness only)\n"
        f"  prompt tokens     ~{est['prompt_tokens']:,}\n"
        f"  completion tokens ~{est['completion_tokens']:,} (expected_completion_tokens)\n"
        f"  cost              ~{generate.format_cost(est['cost_usd'], teacher)}\n"
        "Nothing was sent."
    )


def _executions(config: BuilderConfig) -> None:
    """What the execute stage will run per row: N solutions, and K mutants of each passing problem."""
    n, k = config.solutions_per_problem, config.mutants_per_row
    mutants = f" + up to {k} mutant runs per problem whose tests pass (mutants_per_row)" if k else ""
    print(
        f"Dry run of the execute stage: {n} solution run{'s' if n > 1 else ''} per row with tests "
        f"(solutions_per_problem){mutants}; bench/execution.py measures rows/s on this machine. Nothing was run."
    )


def _tests_estimate(config: BuilderConfig, seeds) -> None:
    """The tests stage's estimate: from its upstream's rows when that stage is complete, else from the seeds."""
    from dataset_builder.stages import tests

    upstream, tests_dir = _upstream_of(config, "tests")
    journal = tests_dir.path / tests.JOURNAL
    answered = list(generate.read_answers(journal)) if journal.exists() else []
    if upstream is not None and upstream.is_complete():
        tests.print_estimate(config, tests.question_rows(upstream.load()), answered)
    elif seeds is not None:
        tests.print_assumed_estimate(config, seeds["lang"])
    else:
        print(
            f"Dry run of the tests stage: one request per row of {upstream.stage if upstream else 'its input'}, "
            "which has not run yet: the number of requests is known once it has. Nothing was sent."
        )

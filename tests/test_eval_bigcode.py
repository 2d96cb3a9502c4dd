"""eval/bigcode*.py without running any harness: the commands it builds, its metric JSON, resume from what a run
left, the settings a run is named by. The real harness runs in tests/test_eval_bigcode_harness.py.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from eval import bigcode, bigcode_find
from eval.bigcode import HarnessMissing
from eval.bigcode_metrics import HarnessError, parse_metrics
from eval.bigcode_tasks import APPS_SUBSET, BIGCODE_TASKS, task_settings

SECRET = "hf_SecretToken0123456789abcdefXYZ"

METRICS = {
    "multiple-java": {"pass@1": 0.42, "pass@10": 0.6},
    "ds1000-all-completion": {"mean pass@1 accuracy (40 samples)": 0.3},
    "apps-introductory": {"avg_accuracy": 0.7, "strict_accuracy": 0.5, "pass_at_k": None},
    "apps-interview": {"avg_accuracy": 0.4, "strict_accuracy": 0.3, "pass_at_k": None},
    "apps-competition": {"avg_accuracy": 0.1, "strict_accuracy": 0.0, "pass_at_k": None},
}


@pytest.fixture
def harness(tmp_path, monkeypatch):
    """A folder standing for the harness's: building a command reads nothing in it."""
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.delenv("BIGCODE_HARNESS_DIR", raising=False)
    return tmp_path / "bigcode-evaluation-harness"


def flags(argv: list[str]) -> dict:
    """`--name value` pairs of an argv (a bare flag maps to True)."""
    out, i = {}, next(i for i, a in enumerate(argv) if a.startswith("--"))
    while i < len(argv):
        name = argv[i].removeprefix("--")
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            out[name], i = argv[i + 1], i + 2
        else:
            out[name], i = True, i + 1
    return out


# --- finding the harness ---------------------------------------------------------------------------------------


def test_missing_harness_names_the_install_commands(tmp_path, monkeypatch):
    monkeypatch.delenv("BIGCODE_HARNESS_DIR", raising=False)
    monkeypatch.setattr(bigcode_find, "HARNESS_VENV", tmp_path / "no-venv")
    with pytest.raises(HarnessMissing) as err:
        bigcode.find_harness(None)
    message = str(err.value)
    assert "no-venv is missing" in message and "make harness" in message and "BIGCODE_HARNESS_DIR" in message
    assert "git clone https://github.com/bigcode-project/bigcode-evaluation-harness" in message
    assert "pip install -e ." in message
    assert "Docker" in message and "toolchains" in message

    with pytest.raises(HarnessMissing, match="has no main.py"):
        bigcode.find_harness(tmp_path)
    (tmp_path / "main.py").write_text("")
    with pytest.raises(HarnessMissing, match="cannot import bigcode_eval") as err:
        bigcode.find_harness(tmp_path)
    assert "pip install -e ." in str(err.value)
    with pytest.raises(HarnessMissing, match="no python at"):
        bigcode.find_harness(tmp_path, python=str(tmp_path / "nope" / "python"))


def test_harness_revision_is_read_from_the_clone(tmp_path):
    assert bigcode.harness_revision(tmp_path) == "unknown revision"
    (tmp_path / ".git" / "refs" / "heads").mkdir(parents=True)
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    commit = "0123456789abcdef0123456789abcdef01234567"
    (tmp_path / ".git" / "packed-refs").write_text(f"# pack-refs\n{commit} refs/heads/main\n")
    assert bigcode.harness_revision(tmp_path) == commit
    (tmp_path / ".git" / "refs" / "heads" / "main").write_text("f" * 40 + "\n")
    assert bigcode.harness_revision(tmp_path) == "f" * 40


def test_harness_found_from_env(tmp_path, monkeypatch):
    """A clone named by BIGCODE_HARNESS_DIR, run by the installed harness's python (`make harness`)."""
    python = bigcode.HARNESS_VENV / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"no {bigcode.HARNESS_VENV}: run `make harness` (bigcode-evaluation-harness from PyPI)")
    clone = tmp_path / "bigcode-evaluation-harness"
    clone.mkdir()
    shutil.copyfile(bigcode.PACKAGED_HARNESS / "main.py", clone / "main.py")
    (clone / ".git").mkdir()
    (clone / ".git" / "HEAD").write_text("0123456789abcdef0123456789abcdef01234567\n")
    monkeypatch.setenv("BIGCODE_HARNESS_DIR", str(clone))
    found = bigcode.find_harness(None, python=str(python))
    assert (found.dir, found.python, found.packaged) == (clone.resolve(), str(python), False)
    assert found.source == "bigcode-evaluation-harness 0123456789abcdef0123456789abcdef01234567"


# --- the command -----------------------------------------------------------------------------------------------


def test_generating_executes_nothing_and_scoring_loads_the_saved_samples(harness, tmp_path):
    kw = {"harness_dir": harness, "out_dir": tmp_path / "out"}
    generate = bigcode.harness_command("multiple-java", "org/model", **kw)
    assert generate == bigcode.harness_command("multiple-java", "org/model", **kw, mode="generate")
    launch = [sys.executable, "-m", "accelerate.commands.launch"]
    main_py = str(harness.resolve() / "main.py")
    if os.environ.get("OMP_NUM_THREADS"):  # the user's thread count stands
        assert generate[:4] == [*launch, main_py]
    else:  # accelerate would give torch one thread: every core this process may use
        cores = str(len(os.sched_getaffinity(0)))
        assert generate[:6] == [*launch, "--num_cpu_threads_per_process", cores, main_py]
    f = flags(generate)
    assert f["tasks"] == "multiple-java"
    assert (f["temperature"], f["top_p"], f["do_sample"]) == ("0.2", "0.95", "True")
    assert (f["n_samples"], f["max_length_generation"], f["precision"]) == ("50", "512", "bf16")
    assert f["generation_only"] is True and f["save_generations"] is True
    assert "allow_code_execution" not in f and "load_generations_path" not in f and "metric_output_path" not in f
    assert "limit" not in f and "revision" not in f
    run_dir = Path(f["save_generations_path"]).parent
    assert run_dir.parent == (tmp_path / "out").resolve()
    # the harness saves to `{splitext(save_generations_path)[0]}_{task}.json`: what scoring loads
    saved = Path(f["save_generations_path"]).with_name("generations_multiple-java.json")
    assert saved == bigcode.generations_path(run_dir, "multiple-java")

    score = bigcode.harness_command("multiple-java", "org/model", **kw, mode="score")
    assert score[:2] == [sys.executable, str(harness.resolve() / "main.py")]  # no accelerate: no model is loaded
    s = flags(score)
    assert s["allow_code_execution"] is True and s["load_generations_path"] == str(saved)
    assert s["metric_output_path"] == str(run_dir / "metrics.json")
    assert "generation_only" not in s and "save_generations" not in s
    assert {k: v for k, v in s.items() if k in f} == {k: v for k, v in f.items() if k in s}  # the same settings
    for argv in (generate, score):
        joined = " ".join(argv)
        assert SECRET not in joined and "use_auth_token" not in joined
    with pytest.raises(ValueError, match="mode must be one of generate, score"):
        bigcode.harness_command("multiple-java", "org/model", **kw, mode="both")


def test_rust_maps_to_the_harness_name():
    assert list(BIGCODE_TASKS["multiple-rust"].harness_tasks) == ["multiple-rs"]
    for key in ("multiple-js", "multiple-cpp", "multiple-php", "multiple-swift"):
        assert list(BIGCODE_TASKS[key].harness_tasks) == [key]


def test_ds1000_command(harness, tmp_path):
    argv = bigcode.harness_command(
        "ds1000", "m", harness_dir=harness, out_dir=tmp_path, revision="v1", accelerate=False
    )
    assert argv[:2] == [sys.executable, str(harness.resolve() / "main.py")]
    f = flags(argv)
    assert f["tasks"] == "ds1000-all-completion"
    assert (f["temperature"], f["top_p"], f["n_samples"], f["max_length_generation"]) == ("0.2", "0.5", "40", "1024")
    assert f["revision"] == "v1"


def test_apps_commands_are_greedy_with_the_subset_limits(harness, tmp_path):
    for task, limit in {"apps-introductory": 60, "apps-interview": 180, "apps-competition": 60}.items():
        f = flags(bigcode.harness_command("apps", "m", harness_dir=harness, out_dir=tmp_path, harness_task=task))
        assert f["tasks"] == task and f["limit"] == str(limit)
        assert (f["do_sample"], f["n_samples"], f["batch_size"]) == ("False", "1", "1")
        assert "temperature" not in f and "top_p" not in f
    small = flags(
        bigcode.harness_command(
            "apps", "m", harness_dir=harness, out_dir=tmp_path, harness_task="apps-interview", limit=5
        )
    )
    assert small["limit"] == "5"
    with pytest.raises(ValueError, match="pick one"):
        bigcode.harness_command("apps", "m", harness_dir=harness, out_dir=tmp_path)
    with pytest.raises(ValueError, match="greedy"):
        bigcode.harness_command(
            "apps", "m", harness_dir=harness, out_dir=tmp_path, harness_task="apps-interview", n_samples=5
        )
    with pytest.raises(ValueError, match="unknown bigcode benchmark"):
        bigcode.harness_command("humaneval", "m", harness_dir=harness, out_dir=tmp_path)
    with pytest.raises(ValueError, match="precision"):
        bigcode.harness_command("ds1000", "m", harness_dir=harness, out_dir=tmp_path, precision="int8")


def test_other_settings_get_their_own_folder(harness, tmp_path):
    def run_dir(**kw):
        argv = bigcode.harness_command("multiple-js", "m", harness_dir=harness, out_dir=tmp_path, **kw)
        return Path(flags(argv)["save_generations_path"]).parent

    assert run_dir() == run_dir()
    assert len({run_dir(), run_dir(n_samples=5), run_dir(limit=3), run_dir(batch_size=10)}) == 4


# --- the metric JSON -------------------------------------------------------------------------------------------


def write_metrics(path, task, metrics, **config):
    # bigcode_eval main.main(): results[task] = evaluator.evaluate(task); results["config"] = vars(args)
    path.write_text(json.dumps({task: metrics, "config": {"tasks": task, "n_samples": 50, **config}}, indent=2))
    return path


def test_parse_metrics_in_the_harness_format(tmp_path):
    # GeneralMultiPLE.process_results: pass@k for each k <= samples
    parsed = parse_metrics(
        write_metrics(tmp_path / "a.json", "multiple-rs", METRICS["multiple-java"]), "multiple-rust"
    )
    assert parsed["scores"] == {"pass@1": 0.42, "pass@10": 0.6}
    assert parsed["config"]["n_samples"] == 50
    # GeneralDS1000.process_results: {f"mean pass@1 accuracy ({n} samples)": accuracy}
    ds = write_metrics(tmp_path / "b.json", "ds1000-all-completion", METRICS["ds1000-all-completion"])
    assert parse_metrics(ds, "ds1000")["scores"] == {"pass@1": 0.3}
    # GeneralAPPS.process_results returns codeparrot/apps_metric's dict: one sample -> strict_accuracy
    apps = write_metrics(tmp_path / "c.json", "apps-interview", METRICS["apps-interview"])
    assert parse_metrics(apps, "apps-interview")["scores"] == {"pass@1": 0.3}
    sampled = write_metrics(
        tmp_path / "d.json",
        "apps-interview",
        {"avg_accuracy": None, "strict_accuracy": None, "pass_at_k": {"pass@1": 0.125}},
    )
    assert parse_metrics(sampled, "apps-interview")["scores"] == {"pass@1": 0.125}


def test_parse_metrics_errors_name_the_problem(tmp_path):
    path = write_metrics(tmp_path / "m.json", "multiple-js", METRICS["multiple-java"])
    with pytest.raises(HarnessError, match="no scores for multiple-java.*multiple-js"):
        parse_metrics(path, "multiple-java")
    with pytest.raises(ValueError, match="one by one"):
        parse_metrics(path, "apps")
    with pytest.raises(HarnessError, match="no harness metrics"):
        parse_metrics(tmp_path / "none.json", "multiple-js")
    odd = write_metrics(tmp_path / "o.json", "multiple-js", {"accuracy": 1.0})
    with pytest.raises(HarnessError, match="no pass@1"):
        parse_metrics(odd, "multiple-js")


# --- resume and settings --------------------------------------------------------------------------------------


def finished_run(tmp_path, task="multiple-php", model="m", metrics=None, **options):
    """A run folder as the harness leaves it: its samples and its metric JSON (`{task: ..., "config": vars(args)}`)."""
    settings = task_settings(task, next(iter(BIGCODE_TASKS[task].harness_tasks)), model, **options)
    run_dir = bigcode.run_dir_for(tmp_path, settings)
    run_dir.mkdir(parents=True)
    harness_task = settings["tasks"]
    n = settings["limit"] or 3
    samples = [[f"program {i}.{j}" for j in range(settings["n_samples"])] for i in range(n)]
    bigcode.generations_path(run_dir, harness_task).write_text(json.dumps(samples))
    config = {**settings, "allow_code_execution": True, "load_generations_path": "x"}
    metrics = metrics or {"pass@1": 0.5}
    (run_dir / "metrics.json").write_text(json.dumps({harness_task: metrics, "config": config}))
    return settings, run_dir


NOTHING = ["/nonexistent/harness"]  # a command that cannot start: resuming must not launch one


def test_finished_scores_are_read_back_without_running_the_harness(tmp_path):
    settings, run_dir = finished_run(tmp_path, n_samples=2, limit=3, batch_size=2)
    parsed, n_tasks = bigcode.run_harness_task(NOTHING, NOTHING, settings, run_dir)
    assert parsed["scores"] == {"pass@1": 0.5} and n_tasks == 3
    assert not (run_dir / "harness.log").exists()


def test_missing_generations_without_a_model_is_an_error(tmp_path):
    settings, run_dir = finished_run(tmp_path, n_samples=1, limit=3, batch_size=1)
    (run_dir / "metrics.json").unlink()
    bigcode.generations_path(run_dir, "multiple-php").write_text("[[")  # cut short
    with pytest.raises(HarnessError, match="missing or incomplete, and there is no model"):
        bigcode.run_harness_task(None, NOTHING, settings, run_dir)


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_generating_in_bf16_without_a_gpu_is_warned_about(tmp_path, monkeypatch, caplog, precision):
    """bf16 matmuls are many times slower than fp32 on a CPU: a run that generates there says so; fp32 and a run that
    only scores saved generations do not."""
    monkeypatch.setattr(bigcode, "_has_accelerator", lambda: False)
    settings, run_dir = finished_run(tmp_path, n_samples=1, limit=3, batch_size=1, precision=precision)
    (run_dir / "metrics.json").unlink()
    bigcode.generations_path(run_dir, "multiple-php").unlink()
    with (
        caplog.at_level("WARNING", logger=bigcode.logger.name),
        pytest.raises(FileNotFoundError),
    ):  # NOTHING: no such file
        bigcode.run_harness_task(NOTHING, NOTHING, settings, run_dir)
    warned = [r.getMessage() for r in caplog.records if "bf16" in r.getMessage()]
    expected = (
        "multiple-php: generating in bf16 on a machine without a GPU, which torch runs many times slower than fp32 on "
        "a CPU: --precision fp32 is what a CPU run wants"
    )
    assert warned == ([expected] if precision == "bf16" else [])


def test_apps_combines_the_three_difficulties_by_problem_count():
    subsets = {
        "apps-introductory": {"n_tasks": 60, "scores": {"pass@1": 0.5}},
        "apps-interview": {"n_tasks": 180, "scores": {"pass@1": 0.3}},
        "apps-competition": {"n_tasks": 60, "scores": {"pass@1": 0.0}},
    }
    assert {t: s["n_tasks"] for t, s in subsets.items()} == APPS_SUBSET
    assert bigcode.combined_scores(subsets) == {"pass@1": pytest.approx((0.5 * 60 + 0.3 * 180 + 0.0 * 60) / 300)}
    assert bigcode.combined_scores({"multiple-js": {"n_tasks": 3, "scores": {"pass@1": 0.25}}}) == {"pass@1": 0.25}


def test_ds1000_and_apps_are_not_scored_on_this_host_unless_asked(tmp_path):
    from eval.__main__ import make_parser
    from eval.config import EvalConfig
    from oss_common.parsing import parse

    def load(recipe):
        (config,) = parse(make_parser(), ["--config", str(recipes / recipe), "--model_name_or_path", "m"])
        return config

    recipes = Path(__file__).parent.parent / "recipes" / "eval"

    for key in ("ds1000", "apps"):
        with pytest.raises(ValueError, match=f"{key} cannot be scored in the sandbox.*--harness_sandbox none"):
            EvalConfig(model_name_or_path="m", benchmarks=[key])
        with pytest.raises(ValueError, match="cannot be scored in the sandbox"):
            bigcode.run_task(key, "m", harness_dir=None, out_dir=tmp_path)
        EvalConfig(model_name_or_path="m", benchmarks=[key], harness_sandbox="none")
    with pytest.raises(ValueError, match="harness sandbox must be one of bwrap, none"):
        EvalConfig(model_name_or_path="m", benchmarks=["multiple-js"], harness_sandbox="docker")
    assert not list(tmp_path.iterdir())
    python_recipe = load("bigcode_python.yaml")
    assert python_recipe.benchmarks == ["ds1000", "apps"] and python_recipe.harness_sandbox == "none"
    multiple = load("bigcode.yaml")
    assert multiple.harness_sandbox == "bwrap" and all(b.startswith("multiple-") for b in multiple.benchmarks)


def test_a_run_is_named_by_the_task_settings_not_evalplus_ones():
    """EvalConfig's decoding fields are EvalPlus's: a bigcode benchmark of a run that also has an EvalPlus one runs
    with the paper's settings for its task, and those (not the EvalPlus ones) name its folder."""
    from eval import run
    from eval.config import EvalConfig

    def name(**evalplus):
        config = EvalConfig(model_name_or_path="org/model", benchmarks=["humaneval", "multiple-java"], **evalplus)
        return run.run_dir_name(config, "multiple-java")

    assert name() == "bigcode-bf16-bs50-t0.2-p0.95-n50-max512"
    assert name(temperature=0.8, top_p=0.9, n_samples=3, batch_size=4, max_new_tokens=64) == name()
    assert name(precision="fp16") == "bigcode-fp16-bs50-t0.2-p0.95-n50-max512"


def test_scoring_threads_must_be_a_positive_number(tmp_path):
    with pytest.raises(ValueError, match="harness workers must be at least 1, not 0"):
        bigcode.run_task("multiple-php", "m", harness_dir=None, out_dir=tmp_path, workers=0)


def test_harness_n_samples_sets_the_sampled_tasks_samples_and_evalplus_decoding_is_refused_for_them():
    from eval.config import EvalConfig
    from eval.run import bigcode_options, run_dir_name

    config = EvalConfig(model_name_or_path="m", benchmarks=["multiple-php", "humaneval"], harness_n_samples=5)
    assert bigcode_options(config, "multiple-php")["n_samples"] == 5
    assert run_dir_name(config, "multiple-php").endswith("-t0.2-p0.95-n5-max512")  # its own folder: another setting
    assert "n_samples" not in bigcode_options(config, "apps")  # greedy: one sample per problem
    paper = EvalConfig(model_name_or_path="m", benchmarks=["multiple-php"])
    assert run_dir_name(paper, "multiple-php").endswith("-n50-max512")
    with pytest.raises(ValueError, match="use --harness_n_samples"):
        EvalConfig(model_name_or_path="m", benchmarks=["multiple-php"], n_samples=5, temperature=0.2)
    with pytest.raises(ValueError, match="harness_n_samples must be at least 1"):
        EvalConfig(model_name_or_path="m", benchmarks=["multiple-php"], harness_n_samples=0)

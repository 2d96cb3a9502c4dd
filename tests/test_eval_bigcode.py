"""eval/bigcode*.py: the harness command, its metric JSON and run/resume, against a stand-in of the harness's main.py.

The stand-in parses the real harness's arguments and writes files in the real formats, with fixed scores handed to
it through STANDIN_METRICS: it scores nothing, so these tests check only the plumbing around the harness.
"""

import json
import sys
import textwrap
from pathlib import Path

import pytest

from eval import bigcode
from eval.bigcode import HarnessMissing
from eval.bigcode_metrics import HarnessError, parse_metrics
from eval.bigcode_tasks import APPS_SUBSET, APPS_SUBSET_NOTE, BIGCODE_TASKS
from eval.results import validate_results

SECRET = "hf_SecretToken0123456789abcdefXYZ"

# Arguments as bigcode_eval/main.py parse_args() and arguments.EvalArguments define them (HfArgumentParser turns
# the dataclass's Optional[bool] do_sample into `--do_sample True|False`); the outputs as Evaluator.evaluate
# (generations: `{splitext(save_generations_path)[0]}_{task}.json`, a list of samples per problem) and main.main
# (`{task: results, "config": vars(args)}` at --metric_output_path) write them.
STANDIN_MAIN = textwrap.dedent(
    """
    import argparse, json, os, sys

    def str2bool(v):
        return v.lower() in ("true", "1", "yes")

    p = argparse.ArgumentParser()
    p.add_argument("--prefix", default="")
    p.add_argument("--do_sample", type=str2bool, nargs="?", const=True, default=True)
    p.add_argument("--temperature", type=float, default=0.2)
    p.add_argument("--top_k", type=int, default=0)
    p.add_argument("--top_p", type=float, default=0.95)
    p.add_argument("--n_samples", type=int, default=1)
    p.add_argument("--eos", default="<|endoftext|>")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="codeparrot/codeparrot-small")
    p.add_argument("--revision", default=None)
    p.add_argument("--use_auth_token", action="store_true")
    p.add_argument("--trust_remote_code", action="store_true")
    p.add_argument("--tasks", default=None)
    p.add_argument("--instruction_tokens", default=None)
    p.add_argument("--batch_size", type=int, default=1)
    p.add_argument("--max_length_generation", type=int, default=512)
    p.add_argument("--precision", default="fp32")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--limit_start", type=int, default=0)
    p.add_argument("--allow_code_execution", action="store_true")
    p.add_argument("--generation_only", action="store_true")
    p.add_argument("--load_generations_path", default=None)
    p.add_argument("--metric_output_path", default="evaluation_results.json")
    p.add_argument("--save_generations", action="store_true")
    p.add_argument("--save_generations_path", default="generations.json")
    args = p.parse_args()
    task = args.tasks

    with open(os.environ["STANDIN_LOG"], "a") as log:
        log.write(json.dumps({"task": task, "load": args.load_generations_path, "model": args.model}) + "\\n")
    if not args.allow_code_execution:
        sys.exit("set allow_code_execution")
    if args.load_generations_path:
        with open(args.load_generations_path) as f:
            generations = json.load(f)
        print(f"generations loaded, {len(generations)} problems")
    else:
        n = args.limit or int(os.environ.get("STANDIN_N_TASKS", "4"))
        generations = [[f"# problem {i} sample {j}" for j in range(args.n_samples)] for i in range(n)]
        if args.save_generations:
            with open(f"{os.path.splitext(args.save_generations_path)[0]}_{task}.json", "w") as f:
                json.dump(generations, f)
        if os.environ.get("STANDIN_FAIL_AFTER_GENERATION") == task:
            sys.exit("scoring failed")
    results = {task: json.loads(os.environ["STANDIN_METRICS"])[task], "config": vars(args)}
    with open(args.metric_output_path, "w") as f:
        f.write(json.dumps(results, indent=2))
    """
)

METRICS = {
    "multiple-java": {"pass@1": 0.42, "pass@10": 0.6},
    "ds1000-all-completion": {"mean pass@1 accuracy (40 samples)": 0.3},
    "apps-introductory": {"avg_accuracy": 0.7, "strict_accuracy": 0.5, "pass_at_k": None},
    "apps-interview": {"avg_accuracy": 0.4, "strict_accuracy": 0.3, "pass_at_k": None},
    "apps-competition": {"avg_accuracy": 0.1, "strict_accuracy": 0.0, "pass_at_k": None},
}


@pytest.fixture
def harness(tmp_path, monkeypatch):
    root = tmp_path / "bigcode-evaluation-harness"
    (root / "bigcode_eval").mkdir(parents=True)
    (root / "bigcode_eval" / "__init__.py").write_text("")
    (root / "main.py").write_text(STANDIN_MAIN)
    (root / ".git" / "refs" / "heads").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".git" / "refs" / "heads" / "main").write_text("0123456789abcdef0123456789abcdef01234567\n")
    log = tmp_path / "invocations.jsonl"
    log.touch()
    monkeypatch.setenv("STANDIN_LOG", str(log))
    monkeypatch.setenv("STANDIN_METRICS", json.dumps(METRICS))
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.delenv("BIGCODE_HARNESS_DIR", raising=False)
    return root


def invocations(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "invocations.jsonl").read_text().splitlines()]


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
    monkeypatch.setattr(bigcode, "HARNESS_VENV", tmp_path / "no-venv")
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


def test_harness_found_from_env(harness, monkeypatch):
    monkeypatch.setenv("BIGCODE_HARNESS_DIR", str(harness))
    found = bigcode.find_harness(None)
    assert (found.dir, found.python, found.packaged) == (harness.resolve(), sys.executable, False)
    assert found.source == "bigcode-evaluation-harness 0123456789abcdef0123456789abcdef01234567"


# --- the command -----------------------------------------------------------------------------------------------


def test_multiple_java_command_has_the_paper_settings_and_no_secret(harness, tmp_path):
    argv = bigcode.harness_command("multiple-java", "org/model", harness_dir=harness, out_dir=tmp_path / "out")
    assert argv[:4] == [sys.executable, "-m", "accelerate.commands.launch", str(harness.resolve() / "main.py")]
    f = flags(argv)
    assert f["tasks"] == "multiple-java"
    assert (f["temperature"], f["top_p"], f["do_sample"]) == ("0.2", "0.95", "True")
    assert (f["n_samples"], f["max_length_generation"], f["precision"]) == ("50", "512", "bf16")
    assert f["allow_code_execution"] is True and f["save_generations"] is True
    assert "limit" not in f and "revision" not in f
    out = (tmp_path / "out").resolve()
    for name in ("save_generations_path", "metric_output_path"):
        assert Path(f[name]).parent.parent == out
    joined = " ".join(argv)
    assert SECRET not in joined and "use_auth_token" not in joined


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
        return Path(flags(argv)["metric_output_path"]).parent

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


# --- run and resume --------------------------------------------------------------------------------------------


def test_run_task_then_resume_without_rerunning(harness, tmp_path, capfd):
    out = tmp_path / "out"
    kw = {"harness_dir": harness, "out_dir": out, "accelerate": False, "n_samples": 3}
    entry = bigcode.run_task("multiple-java", "org/model", **kw)
    assert invocations(tmp_path) == [{"task": "multiple-java", "load": None, "model": "org/model"}]
    assert entry["scores"] == {"pass@1": 0.42, "pass@10": 0.6}
    assert entry["plus_scores"] is None and entry["n_samples"] == 3 and entry["complete"] is True
    assert entry["dataset"]["n_tasks"] == 4  # the stand-in's problems, counted from the generations file
    assert entry["dataset"]["source"] == "bigcode-evaluation-harness 0123456789abcdef0123456789abcdef01234567"
    assert entry["settings"]["temperature"] == 0.2 and entry["settings"]["top_p"] == 0.95
    assert entry["settings"]["max_length_generation"] == 512 and entry["settings"]["batch_size"] == 3
    run_dir = out / entry["subsets"]["multiple-java"]["run_dir"]
    assert json.loads((run_dir / "generations_multiple-java.json").read_text())[0][2] == "# problem 0 sample 2"
    assert "generations loaded" not in (run_dir / "harness.log").read_text()

    assert bigcode.run_task("multiple-java", "org/model", **kw) == entry
    assert len(invocations(tmp_path)) == 1

    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(), path
    assert SECRET not in capfd.readouterr().out


def test_relative_model_and_output_folders_are_found_from_the_harness_folder(harness, tmp_path, monkeypatch):
    """The harness runs in its task's folder: a local model and --output_dir given relative to us must still work."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "m").mkdir(parents=True)
    entry = bigcode.run_task("multiple-java", "models/m", harness_dir=harness, out_dir="out", accelerate=False)
    assert entry["scores"] == {"pass@1": 0.42, "pass@10": 0.6}
    assert invocations(tmp_path)[0]["model"] == str(tmp_path / "models" / "m")
    assert (tmp_path / "out" / entry["subsets"]["multiple-java"]["run_dir"] / "metrics.json").is_file()


def test_saved_generations_are_scored_without_generating(harness, tmp_path, monkeypatch):
    kw = {"harness_dir": harness, "out_dir": tmp_path / "out", "accelerate": False, "limit": 2, "sandbox": "none"}
    monkeypatch.setenv("STANDIN_FAIL_AFTER_GENERATION", "ds1000-all-completion")
    with pytest.raises(HarnessError, match="exited with code 1.*harness.log"):
        bigcode.run_task("ds1000", "m", **kw)
    monkeypatch.delenv("STANDIN_FAIL_AFTER_GENERATION")
    entry = bigcode.run_task("ds1000", "m", **kw)
    first, second = invocations(tmp_path)
    assert first["load"] is None
    assert second["load"].endswith("generations_ds1000-all-completion.json")
    assert entry["scores"] == {"pass@1": 0.3} and entry["dataset"]["n_tasks"] == 2
    assert entry["complete"] is False and entry["settings"]["limit"] == 2


def test_scores_of_other_settings_are_not_reused(harness, tmp_path):
    kw = {"harness_dir": harness, "out_dir": tmp_path / "out", "accelerate": False, "n_samples": 2, "sandbox": "none"}
    entry = bigcode.run_task("multiple-java", "m", **kw)
    metrics = tmp_path / "out" / entry["subsets"]["multiple-java"]["run_dir"] / "metrics.json"
    data = json.loads(metrics.read_text())
    data["config"]["temperature"] = 0.8
    metrics.write_text(json.dumps(data))
    bigcode.run_task("multiple-java", "m", **kw)
    assert [i["load"] is not None for i in invocations(tmp_path)] == [False, True]  # rescored, not regenerated
    bigcode.run_task("multiple-java", "m", **{**kw, "n_samples": 4})
    assert len(invocations(tmp_path)) == 3 and invocations(tmp_path)[2]["load"] is None


def test_apps_combines_the_three_difficulties_by_problem_count(harness, tmp_path):
    kw = {"harness_dir": harness, "out_dir": tmp_path / "out", "accelerate": False}
    entry = bigcode.run_task("apps", "m", **kw)
    assert [i["task"] for i in invocations(tmp_path)] == ["apps-introductory", "apps-interview", "apps-competition"]
    subsets = entry["subsets"]
    assert {t: s["n_tasks"] for t, s in subsets.items()} == APPS_SUBSET
    assert subsets["apps-interview"]["metrics"]["avg_accuracy"] == 0.4
    assert entry["scores"] == {"pass@1": pytest.approx((0.5 * 60 + 0.3 * 180 + 0.0 * 60) / 300)}
    assert entry["dataset"]["n_tasks"] == 300 and entry["n_samples"] == 1
    assert entry["complete"] is True and entry["dataset"]["subset"] == APPS_SUBSET_NOTE
    assert entry["settings"]["greedy"] is True
    results = {"schema": 1, "date": "2024-01-01T00:00:00", "model": {"name": "m"}, "settings": {}}
    validate_results(results | {"benchmarks": {"apps": entry}}, "apps")  # the model card accepts it
    assert bigcode.run_task("apps", "m", **kw) == entry
    assert len(invocations(tmp_path)) == 3


def test_a_run_names_its_folders_by_and_records_the_task_settings_not_evalplus_ones(harness, tmp_path):
    """EvalConfig's decoding fields are EvalPlus's: a bigcode benchmark runs with the paper's settings for its task,
    and those (not the ignored EvalPlus ones) name its folder and reach results.json and results.md."""
    from eval import run
    from eval.config import EvalConfig

    out = tmp_path / "eval"

    def evaluate(**evalplus):
        config = EvalConfig(
            model_name_or_path="org/model",
            benchmarks=["multiple-java"],
            harness_dir=str(harness),
            output_dir=str(out),
            **evalplus,
        )
        return run.main(config)

    results = evaluate()
    assert [p.name for p in (out / "org__model" / "multiple-java").iterdir()] == [
        "bigcode-bf16-bs50-t0.2-p0.95-n50-max512"
    ]
    entry = results["benchmarks"]["multiple-java"]
    assert entry["n_samples"] == 50 and entry["settings"]["temperature"] == 0.2
    (java,) = [
        line for line in (out / "org__model" / "results.md").read_text().splitlines() if "MultiPL-E Java:" in line
    ]
    assert "pass@1 from 50 samples a task at temperature 0.2, top_p 0.95" in java, java
    assert "batch size 50" in java and "max length 512" in java and "precision bf16" in java
    run_line = next(line for line in (out / "org__model" / "results.md").read_text().splitlines() if "run of" in line)
    assert not any(s in run_line for s in ("backend", "max_new_tokens", "prompt style"))  # no EvalPlus benchmark here

    # other EvalPlus settings change nothing for the harness: same folder, the finished task is not run again
    again = evaluate(temperature=0.8, top_p=0.9, n_samples=3, batch_size=4, max_new_tokens=64)
    assert [p.name for p in (out / "org__model" / "multiple-java").iterdir()] == [
        "bigcode-bf16-bs50-t0.2-p0.95-n50-max512"
    ]
    assert len(invocations(tmp_path)) == 1
    assert again["benchmarks"]["multiple-java"]["settings"] == entry["settings"]

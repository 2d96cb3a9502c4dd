"""eval/bigcode*.py against the real bigcode-evaluation-harness (`make harness`), offline, in the sandbox.

Known generations of MultiPL-E's HumanEval_0.._2 (tests/multiple_solutions.py, on tests/fixtures/multipl-e/) are
scored through our command: two correct programs and one wrong one, so the harness's pass@1 must be exactly 2/3. The
harness tests (~2 min on 2 cores) are part of `make test`, which builds .venv-harness first; they skip where it is
missing (`make harness`) or bubblewrap cannot run. The layout and error tests run everywhere.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval import bigcode, bigcode_data
from eval.bigcode_metrics import HarnessError
from eval.bigcode_tasks import task_settings
from eval.config import EvalConfig
from eval.results import validate_results
from tests.multiple_solutions import CORRECT, WRONG

FIXTURE = Path(__file__).parent / "fixtures" / "multipl-e"
LANGUAGES = {"cpp": "multiple-cpp", "java": "multiple-java", "js": "multiple-js", "php": "multiple-php"}
LANGUAGES["rs"] = "multiple-rust"


def harness_or_skip():
    python = bigcode.HARNESS_VENV / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"no {bigcode.HARNESS_VENV}: run `make harness` (bigcode-evaluation-harness from PyPI)")
    from dataset_builder.execution.bwrap import Bwrap
    from dataset_builder.execution.sandbox import SandboxError

    try:
        Bwrap().check()
    except SandboxError as err:
        pytest.skip(f"the sandbox cannot run here: {err}")


def rows(language: str) -> list[dict]:
    path = FIXTURE / f"humaneval-{language}" / "test.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def known_generations(language: str, path: Path) -> Path:
    """[[correct 0], [correct 1], [wrong 2]] in the harness's format (each sample the whole program)."""
    problems = rows(language)
    bodies = [*CORRECT[language][:2], WRONG[language]]
    path.write_text(json.dumps([[p["prompt"] + body] for p, body in zip(problems, bodies, strict=True)]))
    return path


# --- layout and errors (no harness needed) ---------------------------------------------------------------------


def test_lay_out_multiple_and_humaneval(tmp_path):
    assert bigcode_data.lay_out(tmp_path, "multiple-cpp", FIXTURE) == 3
    copy = tmp_path / "nuprl" / "MultiPL-E"
    assert (copy / "humaneval-swift" / "test.jsonl").is_file() and (copy / "LICENSE").is_file()
    assert (copy / "README.md").read_text().startswith("---\nconfigs:")
    assert bigcode_data.lay_out(tmp_path, "multiple-cpp", FIXTURE) == 3  # again: replaced, not merged
    assert bigcode_data.lay_out(tmp_path, "humaneval", None) == 164
    first = json.loads((tmp_path / "openai_humaneval" / "test.jsonl").read_text().splitlines()[0])
    assert first["task_id"] == "HumanEval/0"
    with pytest.raises(bigcode_data.OfflineDataError, match="needs README.md"):
        bigcode_data.lay_out(tmp_path, "multiple-cpp", tmp_path)


@pytest.mark.parametrize("benchmark", ["ds1000", "apps"])
def test_ds1000_and_apps_offline_fail_before_anything_runs(benchmark, tmp_path):
    with pytest.raises(ValueError, match=f"^{benchmark} cannot run offline .*Hub"):
        EvalConfig(
            model_name_or_path="m",
            benchmarks=["humaneval", benchmark],
            harness_offline_data=str(FIXTURE),
            harness_sandbox="none",
        )


def test_generations_file_errors_name_the_format(tmp_path):
    bad = tmp_path / "g.json"
    for content, match in [
        ("{", "not JSON"),
        ('{"a": 1}', "harness's format"),
        ("[[]]", "harness's format"),
        ('[["a"], ["b", "c"]]', r"\[1, 2\] samples per problem"),
    ]:
        bad.write_text(content)
        with pytest.raises(ValueError, match=match):
            bigcode.Generations.read(bad)
    with pytest.raises(ValueError, match="exactly one"):
        EvalConfig(model_name_or_path="m", benchmarks=["multiple-cpp", "multiple-js"], load_generations_path=str(bad))


def test_a_python_the_sandbox_cannot_show_is_refused(tmp_path):
    outside = bigcode.Harness(tmp_path, "/proc/self/exe", "x")
    with pytest.raises(HarnessError, match="make harness"):
        bigcode.sandbox_paths(outside)


def test_a_missing_toolchain_is_an_error_not_a_zero(tmp_path):
    with pytest.raises(HarnessError, match="swiftc is not installed here.*every program would count as failing"):
        bigcode.check_toolchain("multiple-swift", path=str(tmp_path))
    bigcode.check_toolchain("ds1000-all-completion", path=str(tmp_path))  # no toolchain of its own


# --- the real harness ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_known_generations_score_exactly_and_resume(language, tmp_path, build):
    harness_or_skip()
    task = LANGUAGES[language]
    kw = {
        "harness_dir": None,
        "out_dir": build / "out",  # the sandbox's uid must reach it (`build`, tests/conftest.py)
        "load_generations_path": known_generations(language, tmp_path / "gens.json"),
        "offline_data": FIXTURE,
    }
    entry = bigcode.run_task(task, "known-answers", **kw)
    assert entry["scores"] == {"pass@1": pytest.approx(2 / 3)}
    assert entry["dataset"]["n_tasks"] == 3 and entry["n_samples"] == 1 and entry["complete"] is True
    assert entry["dataset"]["source"] == "bigcode-evaluation-harness (nvidia-bigcode-eval 26.3)"
    assert entry["settings"]["limit"] is None and len(entry["settings"]["scored_generations"]) == 64
    results = {"schema": 1, "date": "2024-01-01T00:00:00", "model": {"name": "m"}, "settings": {}}
    validate_results(results | {"benchmarks": {task: entry}}, task)
    run_dir = build / "out" / entry["subsets"][f"multiple-{language}"]["run_dir"]
    outcomes = {
        p.name.removesuffix(".results.json"): [r["status"] for r in json.loads(p.read_text())["results"]]
        for p in (run_dir / "tmp").glob("*.results.json")
    }
    assert outcomes == {
        "HumanEval_0_has_close_elements": ["OK"],
        "HumanEval_1_separate_paren_groups": ["OK"],
        "HumanEval_2_truncate_number": [outcomes["HumanEval_2_truncate_number"][0]],
    }
    assert outcomes["HumanEval_2_truncate_number"] != ["OK"]

    log = (run_dir / "harness.log").read_text()
    assert bigcode.run_task(task, "known-answers", **kw) == entry  # resumed: not scored again
    assert (run_dir / "harness.log").read_text() == log


def test_the_eval_command_scores_a_generations_file(tmp_path, build):
    """`python -m eval ... --load_generations_path` end to end: results.json holds the harness's score."""
    harness_or_skip()
    gens = known_generations("cpp", tmp_path / "gens.json")
    argv = [sys.executable, "-m", "eval", "--model_name_or_path", "my-api-model", "--benchmarks", "multiple-cpp"]
    argv += ["--load_generations_path", str(gens), "--harness_offline_data", str(FIXTURE)]
    argv += ["--output_dir", str(build / "eval")]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((build / "eval" / "my-api-model" / "results.json").read_text())
    entry = results["benchmarks"]["multiple-cpp"]
    assert entry["scores"] == {"pass@1": pytest.approx(2 / 3)} and entry["complete"] is True


def test_swift_without_its_toolchain_is_refused_before_the_harness_runs(tmp_path):
    harness_or_skip()
    import shutil

    if shutil.which("swiftc", path="/usr/local/bin:/usr/bin:/bin"):
        pytest.skip("swiftc is installed here")
    gens = tmp_path / "gens.json"
    gens.write_text(json.dumps([[row["prompt"] + "    return 0\n}"] for row in rows("swift")]))
    with pytest.raises(HarnessError, match="multiple-swift: swiftc is not installed"):
        bigcode.run_task(
            "multiple-swift", "m", harness_dir=None, out_dir=tmp_path, load_generations_path=gens, offline_data=FIXTURE
        )
    assert not list(tmp_path.glob("multiple-swift-*"))


def test_saved_generations_of_a_model_are_scored_in_the_sandbox_without_generating(tmp_path, build, monkeypatch):
    """Resume after generating: the samples are saved, the scores are not. Only the scoring command runs (in the
    sandbox, no --generation_only); scores recorded with other settings are scored again, never regenerated. The
    output folder is relative to us, as --output_dir may be."""
    harness_or_skip()
    monkeypatch.chdir(build)
    options = {"n_samples": 1, "batch_size": 1, "limit": 3}
    kw = {"harness_dir": None, "out_dir": "out", "offline_data": FIXTURE, **options}
    settings = task_settings("multiple-php", "multiple-php", "org/model", **options)
    run_dir = bigcode.run_dir_for(build / "out", settings)
    run_dir.mkdir(parents=True)
    known_generations("php", bigcode.generations_path(run_dir, "multiple-php"))

    entry = bigcode.run_task("multiple-php", "org/model", **kw)
    assert entry["scores"] == {"pass@1": pytest.approx(2 / 3)} and entry["dataset"]["n_tasks"] == 3
    assert entry["subsets"]["multiple-php"]["run_dir"] == run_dir.name
    commands = [line for line in (run_dir / "harness.log").read_text().splitlines() if line.startswith("$ ")]
    assert len(commands) == 1 and commands[0].startswith("$ (bwrap) ") and "--allow_code_execution" in commands[0]
    assert "--generation_only" not in commands[0] and "accelerate" not in commands[0]

    metrics = run_dir / "metrics.json"
    data = json.loads(metrics.read_text())
    data["config"]["temperature"] = 0.8
    metrics.write_text(json.dumps(data))
    assert bigcode.run_task("multiple-php", "org/model", **kw)["scores"] == entry["scores"]
    commands = [line for line in (run_dir / "harness.log").read_text().splitlines() if line.startswith("$ ")]
    assert len(commands) == 2 and all(c.startswith("$ (bwrap) ") for c in commands)


def test_multiple_rows_are_exported_for_the_sandbox(tmp_path):
    """What the harness loaded on this host to generate is laid out for the sandbox (no network) to score with, by
    the harness's own `datasets`: here from a local MultiPL-E folder instead of the Hub."""
    python = bigcode.HARNESS_VENV / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"no {bigcode.HARNESS_VENV}: run `make harness` (bigcode-evaluation-harness from PyPI)")
    env = {**bigcode_data.OFFLINE_ENV, "HF_HOME": str(tmp_path / "hf")}
    run_dir = tmp_path / "run"
    assert bigcode_data.export_multiple(run_dir, "multiple-php", str(python), env, source=str(FIXTURE)) == 3
    exported = [json.loads(line) for line in (run_dir / "nuprl/MultiPL-E/humaneval-php/test.jsonl").open()]
    assert [(r["name"], r["prompt"], r["tests"]) for r in exported] == [
        (r["name"], r["prompt"], r["tests"]) for r in rows("php")
    ]
    # and the harness's loader finds the copy by the dataset's name, as the sandboxed harness will
    load = "from datasets import load_dataset; print(len(load_dataset('nuprl/MultiPL-E', 'humaneval-php')['test']))"
    done = subprocess.run(
        [python, "-c", load], cwd=run_dir, env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert done.stdout.strip() == "3", done.stderr[-2000:]
    with pytest.raises(bigcode_data.OfflineDataError, match="could not load .*--harness_offline_data"):
        bigcode_data.export_multiple(tmp_path / "none", "multiple-php", str(python), env, source=str(tmp_path / "no"))


@pytest.mark.slow
def test_a_local_model_generates_on_the_host_and_is_scored_in_the_sandbox(build):
    """`python -m eval` with a model: the harness generates with --generation_only (the quickstart's SmolLM2-135M,
    MultiPL-E PHP's first two problems, the paper's 50 samples at temperature 0.2, fp32 on every core: ~7 min on 2
    cores), then scores the saved samples in the sandbox. The installed package's generation needs `main.py`'s
    `_repair_generation`; the model's card (in the shared model cache) is left alone."""
    harness_or_skip()
    from dataset_builder.teacher.local_server import default_cache_dir, smollm2_model_dir

    model = smollm2_model_dir(default_cache_dir())  # converted once from the PyPI package's GGUF
    argv = [sys.executable, "-m", "eval", "--model_name_or_path", str(model), "--benchmarks", "multiple-php"]
    argv += ["--limit", "2", "--harness_offline_data", str(FIXTURE), "--output_dir", str(build / "eval")]
    argv += ["--precision", "fp32", "--update_card", "false"]  # bf16 matmuls are slow on a CPU
    done = subprocess.run(argv, capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    entry = json.loads((build / "eval" / model.name / "results.json").read_text())["benchmarks"]["multiple-php"]
    assert entry["dataset"]["n_tasks"] == 2 and entry["complete"] is False
    assert 0.0 <= entry["scores"]["pass@1"] <= 1.0
    (generations,) = (build / "eval").rglob("generations_multiple-php.json")
    assert [len(samples) for samples in json.loads(generations.read_text())] == [50, 50]
    log = (generations.parent / "harness.log").read_text()
    generate, score = (line for line in log.splitlines() if line.startswith("$ "))
    assert "--generation_only" in generate and "--allow_code_execution" not in generate
    assert score.startswith("$ (bwrap)") and "--load_generations_path" in score


def test_a_harness_python_given_relative_to_the_current_folder_is_found(monkeypatch):
    """The runbooks pass `--harness_python .venv-harness/bin/python`; the harness is checked from its own folder."""
    import os

    from eval import bigcode_find

    harness_or_skip()
    python = bigcode.HARNESS_VENV / "bin" / "python"
    monkeypatch.chdir(python.parent.parent.parent)
    relative = os.path.join(python.parent.parent.name, "bin", "python")
    found = bigcode_find.find_harness(python=relative)
    assert found.python == str(python.absolute()) and found.packaged

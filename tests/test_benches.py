"""The training benchmarks still run: bench/padding_waste.py on a few hundred rows, bench/train_throughput.py in its
CPU smoke mode (a tiny model, 2 steps of each profile through SFTTrainer), and its `--help` without a GPU; the
generation benchmark, bench/generation_throughput.py, on 4 prompts of 4 tokens; the execution benchmark,
bench/execution.py, on a few Python rows, and bench/mutation_strength.py on three HumanEval-X Python references; the
toy teacher's memory benchmark, bench/toy_teacher_memory.py, its `--help` (it serves SmolLM2 for minutes)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_padding_waste_prints_the_ratio(capsys):
    from bench import padding_waste

    assert padding_waste.main(["--rows", "300", "--global-batch", "32"]) == 0
    out = capsys.readouterr().out
    lines = {line.split(":")[0]: line for line in out.splitlines() if ":" in line}
    assert {"rows", "padded", "packed", "ratio"} <= set(lines)
    padded = float(lines["padded"].split("real tokens ")[1].split("%")[0])
    packed = float(lines["packed"].split("real tokens ")[1].split("%")[0])
    assert 40 < padded < 100 and packed > padded  # padding-free packs carry no pad
    assert "examples each" in lines["packed"]


def test_throughput_help_needs_no_gpu():
    command = [sys.executable, "-m", "bench.train_throughput", "--help"]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "--model-size" in out and "--smoke" in out and "--peak-tflops" in out


def test_toy_teacher_memory_help_does_no_work():
    command = [sys.executable, "-m", "bench.toy_teacher_memory", "--help"]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60).stdout
    assert "--before" in out and "--recipe" in out


def test_throughput_smoke(capsys, tmp_path):
    import json

    from bench import train_throughput

    assert train_throughput.main(["--smoke", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "paper:" in out and "fast:" in out and "tokens/s/GPU" in out and "MFU" in out
    results = json.loads((tmp_path / "r.json").read_text())
    assert [r["profile"] for r in results] == ["paper", "fast"]
    assert all(r["tokens_per_s_per_gpu"] > 0 and r["timed_steps"] >= 1 for r in results)
    assert results[1]["packing"] and not results[0]["packing"]


def test_generation_throughput_smoke(capsys):
    from bench import generation_throughput

    assert generation_throughput.main(["--prompts", "4", "--max-new-tokens", "4", "--batch-sizes", "1", "4"]) == 0
    lines = {line.split(":")[0]: line for line in capsys.readouterr().out.splitlines() if ":" in line}
    assert {"batch 1", "batch 4", "ratio batch 4 / batch 1"} <= set(lines)
    assert float(lines["batch 4"].split(": ")[1].split(" tokens/s")[0]) > 0 and "(16 tokens in" in lines["batch 4"]


def test_eval_scoring_bench_scores_the_canonical_solutions(capsys):
    from bench import eval_scoring

    assert eval_scoring.main(["--workers", "2"]) == 0
    lines = {line.split(":")[0]: line for line in capsys.readouterr().out.splitlines() if ":" in line}
    assert "pass@1 1.000" in lines["workers 2"] and "of 60 s allowed" in lines["goal"]
    assert lines["tasks"].startswith("tasks: 164")


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is missing: apt-get install -y bubblewrap")
def test_execution_bench_smoke(capsys):
    pytest.importorskip("dataset_builder.execution.executor")
    from bench import execution

    argv = ["--rows", "6", "--languages", "python", "--workers", "2", "--repeats", "2", "--mutants", "2"]
    assert execution.main(argv) == 0
    throughput, mutation = capsys.readouterr().out.split("mutation run: 2 mutants per row")
    lines = {line.split()[0]: line for line in throughput.splitlines() if line.strip()}
    python = lines["python"].split()
    assert python[1] == "6" and float(python[2]) > 0 and float(python[3]) > 0 and python[4].endswith("x")
    runs = re.fullmatch(r"each run \(python rows/s\): bwrap \[(.*)\], none \[(.*)\]", lines["each"])
    assert runs and all(len(group.split(", ")) == 2 for group in runs.groups())  # the two repeats of each
    assert "isolation costs" in lines["goal:"]
    (mutants,) = [line.split() for line in mutation.splitlines() if line.startswith("python")]
    assert mutants[1] == "6" and float(mutants[2]) > 0 and mutants[4:] == ["12", "12", "100%"]  # the tests kill all


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is missing: apt-get install -y bubblewrap")
def test_code_reward_bench_smoke(capsys):
    from bench import code_reward

    assert code_reward.main(["--completions", "4", "--languages", "python", "shell", "--workers", "2"]) == 0
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    for language in ("python", "shell"):
        row = lines[language]
        assert float(row[2]) > 0 and float(row[3]) > 0 and row[4].endswith("x"), row


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is missing: apt-get install -y bubblewrap")
def test_cgroup_overhead_bench_smoke(capsys):
    from dataset_builder.execution import cgroups

    found = cgroups.detect()
    found.close()
    if isinstance(found, cgroups.RlimitsOnly):
        pytest.skip(f"no cgroup to measure: {found.name}")
    from bench import cgroup_overhead

    assert cgroup_overhead.main(["--blocks", "2", "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("runs/s, rlimits") == 2 and "cost of the cgroup: " in out


def test_external_benchmarks_bench_smoke(capsys, tmp_path):
    from bench import external_benchmarks
    from bench.external import loaders

    argv = ["--benchmarks", "mbxp", "--languages", "python", "csharp", "--limit", "2", "--out", str(tmp_path)]
    assert external_benchmarks.main([*argv, "--data", str(loaders.fixtures_dir())]) == 0
    lines = {tuple(line.split()[:2]): line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    python = lines["mbxp", "python"]
    assert python[2:9] == ["2", "0", "2", "2", "100.0", "2/2", "0"] and int(python[10]) >= int(python[12]) > 0
    assert lines["mbxp", "csharp"][2:5] == ["2", "2", "0"]
    report = json.loads((tmp_path / "external_benchmarks.json").read_text())
    assert [s["language"] for s in report["sets"]] == ["python", "csharp"]
    assert "NuGet package: CompareNetObjects" in (tmp_path / "external_benchmarks.md").read_text()


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is missing: apt-get install -y bubblewrap")
def test_mutation_strength_bench_smoke(capsys):
    from bench import mutation_strength

    assert mutation_strength.main(["--rows", "3", "--languages", "python"]) == 0
    (row,) = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("humaneval-x")]
    refs, passed, made, not_valid, valid, killed = map(int, row[2:8])
    assert (
        (refs, passed, not_valid) == (3, 3, 0) and made == valid > 3 and killed == valid
    )  # HumanEval's tests kill all

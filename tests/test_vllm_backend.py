"""The in-process vLLM backend's chunking and journaling, with a stand-in `vllm` module (vLLM needs CUDA)."""

import sys
import types
from dataclasses import dataclass, field

import pytest

from dataset_builder.runs import RunDir
from dataset_builder.teacher.base import Request, TeacherError, TeacherSettings
from dataset_builder.teacher.vllm_backend import VLLMTeacher
from oss_common.journal import Journal
from tests.helpers.teacher_run import run_backend


@dataclass
class SamplingParams:
    temperature: float
    top_p: float
    max_tokens: int
    seed: int


@dataclass
class FakeLLM:
    """Records every `chat` call; answers each conversation with its own text; fails on call `fail_on`."""

    model: str
    seed: int
    calls: list = field(default_factory=list)
    fail_on: int | None = None

    def chat(self, messages, sampling_params, use_tqdm=True):
        self.calls.append((messages, sampling_params, use_tqdm))
        if len(self.calls) == self.fail_on:
            raise RuntimeError("CUDA out of memory (injected)")
        outputs = []
        for conversation, params in zip(messages, sampling_params, strict=True):
            text = f"answer to {conversation[-1]['content']} (seed {params.seed})"
            completion = types.SimpleNamespace(text=text, finish_reason="stop", token_ids=list(range(len(text) // 4)))
            outputs.append(types.SimpleNamespace(prompt_token_ids=[1] * 7, outputs=[completion]))
        return outputs


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.__version__ = "0.0.fake"
    module.SamplingParams = SamplingParams
    module.instances = []

    def make_llm(model, seed):
        llm = FakeLLM(model, seed, fail_on=module.fail_on)
        module.instances.append(llm)
        return llm

    module.LLM = make_llm
    module.fail_on = None
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def _backend(tmp_path, chunk_size=2, top_p=None):
    settings = TeacherSettings(
        model="org/teacher-7b",
        base_url=None,
        temperature=0.0,
        top_p=top_p,
        concurrency=1,
        request_timeout=1.0,
        max_retries=0,
        seed=976,
        chunk_size=chunk_size,
    )
    return VLLMTeacher(settings, RunDir(tmp_path, "generate", "fp"))


def _requests(indices):
    return [
        Request(i, [{"role": "user", "content": f"snippet {i}"}], seed=976 + i, max_tokens=100 + i) for i in indices
    ]


def test_chunks_and_journals_every_row(fake_vllm, tmp_path):
    rows, accounting, n = run_backend(_backend(tmp_path, chunk_size=2), _requests(range(5)), tmp_path / "r.jsonl")
    (llm,) = fake_vllm.instances
    assert (llm.model, llm.seed) == ("org/teacher-7b", 976)
    assert [len(messages) for messages, _, _ in llm.calls] == [2, 2, 1]
    assert all(use_tqdm is False for _, _, use_tqdm in llm.calls)
    params = [p for _, batch, _ in llm.calls for p in batch]
    assert params == [SamplingParams(0.0, 1.0, 100 + i, 976 + i) for i in range(5)]
    assert sorted(rows) == list(range(5)) and n == 5 and accounting.rows == 5
    row = rows[3]
    assert row["response"] == "answer to snippet 3 (seed 979)"
    assert row["finish_reason"] == "stop" and row["attempts"] == 1
    assert row["teacher_model"] == "org/teacher-7b" and row["system_fingerprint"] == "vllm-0.0.fake"
    assert row["prompt_tokens"] == 7 and row["completion_tokens"] == len(row["response"]) // 4
    assert accounting.prompt_tokens == 35


def test_top_p_is_passed_when_set(fake_vllm, tmp_path):
    run_backend(_backend(tmp_path, top_p=0.95), _requests([0]), tmp_path / "r.jsonl")
    assert fake_vllm.instances[0].calls[0][1][0].top_p == 0.95


def test_finished_chunks_survive_a_crash(fake_vllm, tmp_path):
    fake_vllm.fail_on = 3
    journal_path = tmp_path / "r.jsonl"
    with pytest.raises(RuntimeError, match="out of memory"):
        run_backend(_backend(tmp_path, chunk_size=2), _requests(range(6)), journal_path)
    with Journal(journal_path) as journal:
        assert journal.done == {0, 1, 2, 3}

    fake_vllm.fail_on = None
    rows, _, _ = run_backend(_backend(tmp_path, chunk_size=2), _requests([4, 5]), journal_path)
    assert sorted(rows) == list(range(6))
    assert [len(m) for m, _, _ in fake_vllm.instances[1].calls] == [2]


def test_missing_vllm_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(TeacherError, match=r'pip install -e "\.\[vllm\]"'):
        run_backend(_backend(tmp_path), _requests([0]), tmp_path / "r.jsonl")

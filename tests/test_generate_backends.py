"""The oss_generate backends other than transformers: the openai backend against a loopback server (chat and
completions modes, errors that name the fix, the key never printed), vLLM through a stand-in module."""

import json
import sys
import types

import pytest

import generate
from oss_generate import GenerationError, Request, SamplingParams, make_backend
from oss_generate.base import encode_prompt
from tests.helpers.generate_models import PROMPTS, user, varied_model
from tests.helpers.teacher_server import TeacherServer, answer_for
from tests.helpers.tiny_model import build_tiny_model

SECRET = "sk-generate-secret-0123456789"


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    tiny = build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")
    return varied_model(tiny, tmp_path_factory.mktemp("varied") / "model")


@pytest.fixture(scope="module")
def backend(varied):
    with make_backend("transformers", str(varied), device="cpu") as backend:
        yield backend


# --- openai backend against a loopback server -----------------------------------------------------------------------


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("GEN_TEST_KEY", SECRET)
    return "GEN_TEST_KEY"


def test_openai_chat_mode(teacher, key_env):
    backend = make_backend("openai", "fake-teacher", base_url=teacher.base_url, api_key_env=key_env, concurrency=4)
    requests = [Request(user(f"task {i}"), response_prefix="```python\n" if i == 1 else "") for i in range(3)]
    params = SamplingParams(max_new_tokens=64, seed=976, stop=["[Solution]"])
    outputs = backend.generate(requests, params)
    assert outputs == [
        [answer_for(r.messages + [{"content": "```python\n"}] * (i == 1), 976).split("[Solution]")[0]]
        for i, r in enumerate(requests)
    ]
    bodies = {b["messages"][0]["content"]: b for b in teacher.bodies}
    assert bodies["task 1"]["messages"][-1] == {"role": "assistant", "content": "```python\n"}
    assert bodies["task 1"]["continue_final_message"] is True and bodies["task 1"]["add_generation_prompt"] is False
    assert "continue_final_message" not in bodies["task 0"] and "n" not in bodies["task 0"]
    assert {k: bodies["task 0"][k] for k in ("max_tokens", "temperature", "top_p", "seed", "stop")} == {
        "max_tokens": 64,
        "temperature": 0.0,
        "top_p": 1.0,
        "seed": 976,
        "stop": ["[Solution]"],
    }
    assert SECRET not in json.dumps(backend.describe())
    with pytest.raises(GenerationError, match="returned 1 completions for n=2.*does not support `n`"):
        backend.generate(requests[:1], SamplingParams(temperature=0.5, n=2))


def test_openai_completions_mode_renders_locally(teacher, key_env, varied, backend):
    remote = make_backend(
        "openai",
        "fake-teacher",
        base_url=teacher.base_url,
        api_key_env=key_env,
        api="completions",
        tokenizer=str(varied),
    )
    request = Request(user("task"), response_prefix="def")
    [[text]] = remote.generate([request], SamplingParams(seed=977))
    [body] = teacher.bodies
    assert body["prompt"] == backend.render(request) and body["add_special_tokens"] is False
    assert text == answer_for([{"content": body["prompt"]}], 977)
    with pytest.raises(GenerationError, match="pass tokenizer="):
        make_backend("openai", "m", base_url=teacher.base_url, api="completions")


def test_openai_chat_mode_loads_the_tokenizer_only_to_render(teacher, key_env, tmp_path):
    missing = str(tmp_path / "no-tokenizer")
    remote = make_backend("openai", "fake-teacher", base_url=teacher.base_url, api_key_env=key_env, tokenizer=missing)
    assert remote.generate([Request(user("x"))], SamplingParams(seed=976)) == [[answer_for(user("x"), 976)]]
    with pytest.raises(GenerationError, match="does not exist"):
        remote.render(Request(user("x")))


@pytest.mark.parametrize(
    "fault, message",
    [("401", r"401.*Set the environment variable GEN_TEST_KEY"), ("404", r"no model 'fake-teacher'.*/v1/models")],
)
def test_openai_errors_name_the_fix(fault, message, key_env):
    with TeacherServer(faults={0: [fault]}) as server:
        backend = make_backend("openai", "fake-teacher", base_url=server.base_url, api_key_env=key_env)
        with pytest.raises(GenerationError, match=message) as err:
            backend.generate([Request(user("x"))], SamplingParams(seed=976))
    assert SECRET not in str(err.value)


def test_openai_cli_never_prints_the_key(key_env, capsys, tmp_path):
    with TeacherServer(faults={0: ["401"]}) as server:
        base = ["--backend", "openai", "--model_name_or_path", "fake-teacher", "--base_url", server.base_url]
        base += ["--api_key_env", key_env, "--seed", "977"]
        assert generate.cli([*base, "--prompt", "hi"]) == 0
        (tmp_path / "in.jsonl").write_text(json.dumps({"instruction": "x"}) + "\n")
        out_file = str(tmp_path / "out.jsonl")
        assert generate.cli([*base, "--input_file", str(tmp_path / "in.jsonl"), "--output_file", out_file]) == 0
        assert generate.cli([*base[:-2], "--seed", "976", "--prompt", "hi"]) == 2
    out = capsys.readouterr()
    assert "[Problem Description]" in out.out and "rejected the API key" in out.err
    written = "".join(p.read_text() for p in tmp_path.iterdir())
    assert SECRET not in out.out + out.err + written
    assert "GEN_TEST_KEY" in (tmp_path / "out.settings.json").read_text()


def test_openai_without_key_or_server(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(GenerationError, match="no API key: set the environment variable OPENAI_API_KEY"):
        make_backend("openai", "gpt-4o")


# --- vllm backend through a stand-in module -------------------------------------------------------------------------


class FakeSamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class FakeLLM:
    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls = []
        self.llm_engine = types.SimpleNamespace(model_config=types.SimpleNamespace(max_model_len=256))

    def generate(self, prompts, sampling_params, use_tqdm=True):
        self.calls.append((prompts, sampling_params, use_tqdm))
        n = sampling_params.kwargs["n"]
        return [
            types.SimpleNamespace(
                outputs=[
                    types.SimpleNamespace(
                        index=k, text=f"{len(p['prompt_token_ids'])} tokens, #{k}<END>tail", token_ids=[5, 6]
                    )
                    for k in reversed(range(n))
                ]
            )
            for p in prompts
        ]


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.__version__ = "0.0.fake"
    module.SamplingParams = FakeSamplingParams
    module.LLM = FakeLLM
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def test_vllm_backend_passes_tokens_and_settings(fake_vllm, varied, backend):
    vllm_backend = make_backend(
        "vllm", str(varied), dtype="bfloat16", seed=5, tensor_parallel_size=2, max_model_len=None
    )
    llm = vllm_backend.llm
    assert llm.kwargs == {
        "model": str(varied),
        "revision": None,
        "dtype": "bfloat16",
        "seed": 5,
        "tensor_parallel_size": 2,
        "max_model_len": None,
        "trust_remote_code": False,
    }
    requests = [Request(user(p), response_prefix="def") for p in PROMPTS[:2]]
    greedy_out = vllm_backend.generate(requests, SamplingParams(max_new_tokens=7, n=2, stop=["<END>"]))
    prompts, params, use_tqdm = llm.calls[-1]
    ids = [encode_prompt(backend.tokenizer, r) for r in requests]  # the transformers backend's tokens
    assert prompts == [{"prompt_token_ids": i} for i in ids] and use_tqdm is False
    assert params.kwargs == {
        "n": 1,
        "temperature": 0.0,
        "top_p": 1.0,
        "top_k": -1,
        "max_tokens": 7,
        "stop": ["<END>"],
        "seed": None,
    }
    assert greedy_out == [[f"{len(i)} tokens, #0"] * 2 for i in ids]

    sampled = vllm_backend.generate(
        requests[:1], SamplingParams(100, temperature=0.2, top_p=0.95, top_k=5, n=3, seed=1)
    )
    assert llm.calls[-1][1].kwargs == {
        "n": 3,
        "temperature": 0.2,
        "top_p": 0.95,
        "top_k": 5,
        "max_tokens": 100,
        "stop": None,
        "seed": 1,
    }
    assert sampled == [[f"{len(ids[0])} tokens, #{k}<END>tail" for k in range(3)]]  # in index order
    assert vllm_backend.describe()["versions"] == {"vllm": "0.0.fake"} and vllm_backend.context == 256
    with pytest.raises(GenerationError, match=r"limit of 56 \(the model's context 256"):
        vllm_backend.generate([Request(user("def add " * 40))], SamplingParams(max_new_tokens=200))


def test_vllm_missing_names_the_extra(monkeypatch, varied):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(GenerationError, match=r"pip install '\.\[vllm\]' \(needs a CUDA GPU\)"):
        make_backend("vllm", str(varied))

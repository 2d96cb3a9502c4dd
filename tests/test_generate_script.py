"""generate.py and the transformers backend: the rendered prompt is the training prompt, batched left-padded greedy
decoding equals one prompt at a time, stop strings / n / seeds, clear errors, file mode with kill-and-resume, the
--prompt and --chat modes as real processes (the other backends: test_generate_backends.py)."""

import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import generate
from oss_generate import GenerationError, Request, SamplingParams, make_backend
from oss_generate.base import encode_prompt
from oss_generate.config import GenerateArguments
from oss_generate.modes import run_chat, to_request
from tests.helpers.generate_models import PROMPTS, user, varied_model
from tests.helpers.tiny_model import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

# REFERENCE.md §3, verbatim (not imported from oss_common.template, so that a wrong template fails)
SYSTEM = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
    "responses to user instructions."
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def varied(tmp_path_factory, tiny):
    """The tiny model with larger random weights: its greedy output depends on the whole prompt."""
    return varied_model(tiny, tmp_path_factory.mktemp("varied") / "model")


@pytest.fixture(scope="module")
def backend(varied):
    with make_backend("transformers", str(varied), device="cpu") as backend:
        yield backend


@pytest.fixture(scope="module")
def magicoder_model(tmp_path_factory, tiny):
    """A copy of the tiny model whose tokenizer carries the Magicoder template, as train_sft.py saves it."""
    from transformers import AutoTokenizer

    from oss_common.template import CHAT_TEMPLATE

    path = tmp_path_factory.mktemp("magicoder") / "model"
    shutil.copytree(tiny, path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(path)
    return path


def greedy(backend, texts, **kw) -> list[str]:
    params = SamplingParams(max_new_tokens=kw.pop("max_new_tokens", 12), **kw)
    return [c[0] for c in backend.generate([Request(user(t)) for t in texts], params)]


# --- prompts --------------------------------------------------------------------------------------------------------


def test_render_is_the_training_prompt(magicoder_model):
    instruction = "Write a solution to the following problem:\n```python\ndef f(x):\n```"
    prefix = "```python\ndef f(x):"
    with make_backend("transformers", str(magicoder_model), device="cpu") as backend:
        rendered = backend.render(Request(user(instruction), response_prefix=prefix))
        tokens = encode_prompt(backend.tokenizer, Request(user(instruction)))
        trl_tokens = backend.tokenizer.apply_chat_template(user(instruction), add_generation_prompt=True)
        own_system = backend.render(Request([{"role": "system", "content": "Be brief."}, *user("hi")]))
    assert rendered == f"{SYSTEM}\n\n@@ Instruction\n{instruction}\n\n@@ Response\n{prefix}"
    assert own_system == "Be brief.\n\n@@ Instruction\nhi\n\n@@ Response\n"
    assert tokens == list(getattr(trl_tokens, "input_ids", trl_tokens))  # as TRL tokenizes the training prompt


def test_chat_template_override_and_raw_requests(tiny, backend):
    with make_backend("transformers", str(tiny), device="cpu", chat_template="magicoder") as magicoder:
        assert magicoder.render(Request(user("hi"))) == f"{SYSTEM}\n\n@@ Instruction\nhi\n\n@@ Response\n"
    assert backend.render(Request(user("hi"), "x")) == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nx"
    assert backend.render(Request([], "def add(a, b):")) == "def add(a, b):"  # raw text, no template


# --- decoding -------------------------------------------------------------------------------------------------------


def test_batched_left_padded_greedy_equals_one_at_a_time(backend):
    lengths = [len(encode_prompt(backend.tokenizer, Request(user(p)))) for p in PROMPTS]
    assert len(set(lengths)) == len(PROMPTS)  # every prompt is padded differently in the batch
    batched = greedy(backend, PROMPTS)
    alone = [greedy(backend, [p])[0] for p in PROMPTS]
    assert batched == alone
    assert len(set(batched)) == len(PROMPTS) and all(batched)  # outputs depend on the prompt


def test_stop_strings_cut_the_output(backend):
    full = greedy(backend, PROMPTS[:2], max_new_tokens=24)
    stops = []
    for text in full:  # a short piece of each output, at its first occurrence, not at the start
        start = next(i for i in range(2, len(text) - 2) if text[i : i + 2].isascii() and text[i : i + 2].strip())
        stops.append(text[start : start + 2])
    cut = greedy(backend, PROMPTS[:2], max_new_tokens=24, stop=stops)
    for text, result in zip(full, cut, strict=True):
        first = min(i for i in (text.find(s) for s in stops) if i >= 0)
        assert result == text[:first] and len(result) < len(text)


def test_n_completions_and_seeded_sampling(backend):
    requests = [Request(user(p)) for p in PROMPTS[:2]]
    sample = SamplingParams(max_new_tokens=10, temperature=1.0, top_k=50, n=3, seed=7)
    first = backend.generate(requests, sample)
    assert [len(c) for c in first] == [3, 3]
    assert len(set(first[0])) > 1  # sampled completions differ
    assert backend.generate(requests, sample) == first  # same seed, same samples
    assert backend.generate(requests, SamplingParams(max_new_tokens=10, temperature=1.0, n=3, seed=8)) != first
    [twice] = backend.generate(requests[:1], SamplingParams(max_new_tokens=10, n=2))
    assert twice == [greedy(backend, PROMPTS[:1], max_new_tokens=10)[0]] * 2


# --- errors ---------------------------------------------------------------------------------------------------------


def test_missing_model_folder(tmp_path):
    with pytest.raises(GenerationError, match="does not exist.*train_sft.py"):
        make_backend("transformers", str(tmp_path / "no-such-model"))


def test_tokenizer_without_chat_template(backend, monkeypatch):
    monkeypatch.setattr(backend.tokenizer, "chat_template", None)
    with pytest.raises(GenerationError, match=r"no chat template.*chat_template=.*CHAT_TEMPLATE.*raw"):
        backend.generate([Request(user("hi"))], SamplingParams(max_new_tokens=2))
    assert len(backend.generate([Request([], "def add")], SamplingParams(max_new_tokens=2))[0]) == 1  # raw text works


def test_prompt_too_long_names_the_request(backend):
    request = Request(user("def add " * 40), id="HumanEval/7")
    n_tokens = len(encode_prompt(backend.tokenizer, request))
    with pytest.raises(GenerationError) as err:
        backend.generate([Request(user("hi")), request], SamplingParams(max_new_tokens=2048 - 20))
    assert "'HumanEval/7'" in str(err.value) and f"{n_tokens} tokens" in str(err.value)
    assert "limit of 20" in str(err.value)


def test_unknown_backend():
    with pytest.raises(GenerationError, match="unknown backend 'tgi'.*transformers, vllm, openai"):
        make_backend("tgi", "model")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--prompt", "hi", "--chat"], "exactly one mode.*--prompt and --chat"),
        ([], "exactly one mode.*got none"),
        (["--input_file", "x.jsonl"], "needs --output_file"),
        (["--prompt", "hi", "--backend", "tgi"], "unknown backend 'tgi'"),
        (["--prompt", "hi", "--temperature", "-1"], "temperature must be >= 0"),
    ],
)
def test_cli_errors_are_one_line(argv, message, tiny, capsys):
    assert generate.cli(["--model_name_or_path", str(tiny), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in err
    assert re.search(message, err)


def test_cli_bad_value_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        generate.cli(["--model_name_or_path", "m", "--prompt", "hi", "--temperature", "warm"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err == "error: argument --temperature: invalid float value: 'warm' (see --help)\n"


def test_yaml_config_with_cli_overrides(varied, backend, tmp_path, capsys):
    config = tmp_path / "generation.yaml"
    config.write_text(
        f"model_name_or_path: {varied}\ndevice: cpu\nmax_new_tokens: 30\nprompt: {json.dumps(PROMPTS[3])}\n"
        'stop: ["a", "e", "o"]\n'
    )
    assert generate.cli(["--config", str(config), "--max_new_tokens", "12"]) == 0
    expected = greedy(backend, [PROMPTS[3]], max_new_tokens=12, stop=["a", "e", "o"])[0]
    assert capsys.readouterr().out == expected + "\n"
    assert expected != greedy(backend, [PROMPTS[3]], max_new_tokens=12)[0]  # the stop strings from the YAML count


def test_cli_broken_yaml_is_one_line(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("prompt: for i in x: y\n")
    assert generate.cli(["--config", str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "mapping values are not allowed" in err and len(err.splitlines()) == 1


def test_cli_missing_model(tmp_path, capsys):
    assert generate.cli(["--model_name_or_path", str(tmp_path / "gone"), "--prompt", "hi"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


# --- file mode ------------------------------------------------------------------------------------------------------


def file_args(model, tmp_path, **kw) -> GenerateArguments:
    defaults = dict(
        model_name_or_path=str(model),
        device="cpu",
        input_file=str(tmp_path / "in.jsonl"),
        output_file=str(tmp_path / "out.jsonl"),
        max_new_tokens=12,
        batch_size=2,
    )
    return GenerateArguments(**(defaults | kw))


def write_input(tmp_path) -> list[dict]:
    rows = [{"instruction": p, "task_id": f"T/{i}"} for i, p in enumerate(PROMPTS)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def read_output(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]


@pytest.fixture
def spy(monkeypatch):
    """Records the ids of the requests the transformers backend generates for."""
    from oss_generate.hf import TransformersBackend

    seen, original = [], TransformersBackend.generate

    def generate_and_record(self, requests, params):
        seen.extend(r.id for r in requests)
        return original(self, requests, params)

    monkeypatch.setattr(TransformersBackend, "generate", generate_and_record)
    return seen


def test_file_mode_writes_one_line_per_row(varied, backend, tmp_path, spy):
    rows = write_input(tmp_path)
    generate.main(file_args(varied, tmp_path))
    out = read_output(tmp_path)
    expected = greedy(backend, PROMPTS)
    assert [r["index"] for r in out] == list(range(len(rows)))
    assert [r["output"] for r in out] == expected
    assert all(
        o["instruction"] == r["instruction"] and o["task_id"] == r["task_id"] for o, r in zip(out, rows, strict=True)
    )
    settings = json.loads((tmp_path / "out.settings.json").read_text())
    assert settings["backend"]["backend"] == "transformers" and settings["fingerprint"]["sampling"]["n"] == 1

    spy.clear()
    generate.main(file_args(varied, tmp_path))  # complete: a rerun generates nothing
    assert spy == [] and read_output(tmp_path) == out
    with pytest.raises(GenerationError, match=r"other settings \(sampling"):
        generate.main(file_args(varied, tmp_path, temperature=0.7))


def test_resume_generates_only_missing_rows(varied, backend, tmp_path, spy):
    rows = write_input(tmp_path)
    done = [rows[0] | {"output": "PRE-0", "index": 0}, rows[2] | {"output": "PRE-2", "index": 2}]
    torn = json.dumps(rows[3] | {"output": "half", "index": 3})[:25]  # killed mid-write
    (tmp_path / "out.jsonl").write_text("".join(json.dumps(r) + "\n" for r in done) + torn)
    generate.main(file_args(varied, tmp_path))
    assert spy == ["1", "3", "4"]
    out = read_output(tmp_path)
    assert out[:2] == done and sorted(r["index"] for r in out) == list(range(5))
    expected = greedy(backend, PROMPTS)
    assert {r["index"]: r["output"] for r in out[2:]} == {i: expected[i] for i in (1, 3, 4)}


def test_file_mode_n_gives_lists_and_messages_column(varied, tmp_path):
    rows = [
        {"messages": [{"role": "system", "content": "Be brief."}, *user("hi")]},
        {"messages": user("hello"), "response_prefix": "def"},
    ]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    generate.main(file_args(varied, tmp_path, num_return_sequences=2, temperature=1.0, seed=0))
    out = read_output(tmp_path)
    assert [len(r["output"]) for r in out] == [2, 2] and out[1]["messages"] == rows[1]["messages"]


def test_rows_become_requests():
    args = GenerateArguments(model_name_or_path="m", prompt="x", system_prompt="S", response_prefix="P")
    request = to_request(args, row={"instruction": "do it"}, index=4)
    assert request == Request([{"role": "system", "content": "S"}, *user("do it")], "P", id="4")
    kept = [{"role": "system", "content": "own"}, *user("q")]
    assert to_request(args, row={"messages": kept, "response_prefix": "R"}, index=0).messages == kept
    assert to_request(args, row={"messages": kept, "response_prefix": "R"}, index=0).response_prefix == "R"
    raw = GenerateArguments(model_name_or_path="m", prompt="x", raw=True, response_prefix="P")
    assert to_request(raw, text="def f") == Request([], "def fP")
    with pytest.raises(GenerationError, match="no 'instruction' column.*--prompt_column"):
        to_request(args, row={"problem": "p"}, index=1)


def test_output_column_clash(varied, tmp_path):
    (tmp_path / "in.jsonl").write_text(json.dumps({"instruction": "a", "output": "reference"}) + "\n")
    with pytest.raises(GenerationError, match="already has a 'output' column.*--output_column"):
        generate.main(file_args(varied, tmp_path))


# --- prompt and chat modes ------------------------------------------------------------------------------------------


def run_script(*argv, stdin=None):
    return subprocess.run(
        [sys.executable, str(ROOT / "generate.py"), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )


def test_prompt_mode_prints_the_completion(varied, backend):
    result = run_script("--model_name_or_path", str(varied), "--device", "cpu", "--prompt", PROMPTS[1])
    assert result.returncode == 0, result.stderr
    assert result.stdout == backend.generate([Request(user(PROMPTS[1]))], SamplingParams())[0][0] + "\n"


def test_chat_mode_reset_and_exit(varied, backend):
    argv = ("--model_name_or_path", str(varied), "--device", "cpu", "--chat", "--max_new_tokens", "8")
    result = run_script(*argv, stdin="hi\n/reset\nhello\n/exit\nnever read\n")
    assert result.returncode == 0, result.stderr
    first, fresh = greedy(backend, ["hi", "hello"], max_new_tokens=8)  # after /reset, "hello" starts a new chat
    assert result.stdout == f"{first}\n{fresh}\n"
    assert "(conversation reset)" in result.stderr


def test_chat_keeps_the_history(monkeypatch):
    @dataclass
    class Recorder:
        seen: list

        def generate(self, requests, params):
            self.seen.append([dict(m) for m in requests[0].messages])
            return [[f"answer {len(self.seen)}"]]

    recorder = Recorder([])
    monkeypatch.setattr(sys, "stdin", io.StringIO("hi\n\nhow are you\n/reset\nbye\n"))
    args = GenerateArguments(model_name_or_path="m", chat=True, system_prompt="S")
    run_chat(args, recorder, SamplingParams())
    system = {"role": "system", "content": "S"}
    assert recorder.seen == [
        [system, *user("hi")],
        [system, *user("hi"), {"role": "assistant", "content": "answer 1"}, *user("how are you")],
        [system, *user("bye")],
    ]

"""The chat demo (demo/app.py) and the streaming it rests on (TransformersBackend.stream): streamed answers grow to
exactly the non-streamed greedy (or seeded) answer and stop at EOS, stop strings and max_new_tokens; the prompt is the
Magicoder training prompt with the fixed system line and the history as turns; the CLI's errors; the real server as
a process. The page in a real browser: test_demo_browser.py."""

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from demo.app import chat, cli, conversation
from oss_generate import GenerationError, Request, SamplingParams, make_backend
from oss_generate.base import encode_prompt
from tests.helpers.demo_models import (
    FOLLOW_UP,
    QUESTION,
    SYSTEM,
    Recorder,
    free_port,
    offline_gradio,
    readable_model,
)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    offline_gradio(monkeypatch)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return readable_model(tmp_path_factory)


@pytest.fixture(scope="module")
def backend(model):
    with make_backend("transformers", str(model), chat_template="magicoder", device="cpu") as backend:
        yield backend


def greedy(backend, messages, max_new_tokens, **params) -> str:
    [[text]] = backend.generate([Request(messages)], SamplingParams(max_new_tokens=max_new_tokens, **params))
    return text


def assert_grows(texts: list[str]) -> None:
    assert len(texts) >= 2, texts
    for before, after in zip(texts, texts[1:], strict=False):
        assert len(after) > len(before) and after.startswith(before), (before, after)


# --- TransformersBackend.stream --------------------------------------------------------------------------------------


def test_stream_grows_to_the_greedy_answer(backend):
    messages = [{"role": "user", "content": QUESTION}]
    before = dict(backend.usage)
    texts = list(backend.stream(Request(messages), SamplingParams(max_new_tokens=24)))
    assert_grows(texts)
    assert texts[-1] == greedy(backend, messages, 24)
    assert len(texts[-1].split()) > 3  # a real answer, not one repeated token
    n_prompt = len(encode_prompt(backend.tokenizer, Request(messages)))
    # stream() and generate() each count the prompt and 24 new tokens (this greedy answer has no EOS)
    assert backend.usage["prompt_tokens"] - before["prompt_tokens"] == 2 * n_prompt
    assert backend.usage["completion_tokens"] - before["completion_tokens"] == 2 * 24


def test_stream_stops_at_eos(backend, monkeypatch):
    """With a token of the greedy answer made an EOS token, the stream ends before it, as generate() does."""
    import torch

    messages = [{"role": "user", "content": QUESTION}]
    prompt = encode_prompt(backend.tokenizer, Request(messages))
    with torch.inference_mode():
        output = backend.lm.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False)
    ids = output[0, len(prompt) :].tolist()
    k = next(k for k in range(3, len(ids)) if ids[k] not in ids[:k])
    monkeypatch.setattr(backend, "eos_ids", [*backend.eos_ids, ids[k]])
    texts = list(backend.stream(Request(messages), SamplingParams(max_new_tokens=12)))
    assert texts[-1] == backend.tokenizer.decode(ids[:k]) == greedy(backend, messages, 12)
    assert len(texts[-1].split()) >= 2


def test_stream_samples_with_temperature_and_seed(backend):
    messages = [{"role": "user", "content": QUESTION}]
    sampled = []
    for seed in range(3):
        params = SamplingParams(max_new_tokens=16, temperature=1.0, seed=seed)
        texts = list(backend.stream(Request(messages), params))
        assert_grows(texts)
        assert texts[-1] == greedy(backend, messages, 16, temperature=1.0, seed=seed)
        sampled.append(texts[-1])
    assert len(set(sampled)) == 3 and greedy(backend, messages, 16) not in sampled


def test_stream_cuts_at_stop_strings(backend):
    messages = [{"role": "user", "content": QUESTION}]
    answer = greedy(backend, messages, 24)
    stop = answer.split()[3]  # a word in the middle of the answer
    texts = list(backend.stream(Request(messages), SamplingParams(max_new_tokens=24, stop=[stop])))
    assert_grows(texts)
    assert all(stop not in text for text in texts)
    assert texts[-1] == answer[: answer.index(stop)] == greedy(backend, messages, 24, stop=[stop])


def test_closing_the_stream_stops_decoding(backend):
    before = backend.usage["completion_tokens"]
    stream = backend.stream(Request([{"role": "user", "content": QUESTION}]), SamplingParams(max_new_tokens=1500))
    next(stream)
    stream.close()
    assert backend.usage["completion_tokens"] - before < 1500


def test_stream_refuses_what_it_cannot_do(backend):
    request = Request([{"role": "user", "content": QUESTION}])
    with pytest.raises(GenerationError, match="set n to 1"):
        backend.stream(request, SamplingParams(temperature=0.5, n=2))
    with pytest.raises(GenerationError, match="over the limit"):
        backend.stream(request, SamplingParams(max_new_tokens=2040))


def test_stream_raises_what_generation_raised(backend, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(backend.lm, "generate", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        list(backend.stream(Request([{"role": "user", "content": QUESTION}]), SamplingParams(max_new_tokens=8)))


def test_streamer_keeps_the_first_space_of_a_line():
    """SentencePiece decoders (Llama, CodeLlama) strip the first space of a decoded text: decoding each line on its
    own, as the stock TextIteratorStreamer does, would drop one space of indentation."""
    import torch
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    from oss_generate.hf import _answer_streamer

    words = ["<unk>", "</s>", "▁def", "▁f():", "\n", "▁▁▁", "▁return", "▁1"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="</s>")
    streamer = _answer_streamer(tokenizer, ends={1})
    streamer.put(torch.tensor([[2]]))  # the prompt
    for token in [2, 3, 4, 5, 6, 7, 1]:
        streamer.put(torch.tensor([token]))
    streamer.end()
    texts = list(streamer)
    assert texts[-1] == "def f():\n    return 1"
    assert streamer.ids == [2, 3, 4, 5, 6, 7] and streamer.ended


def test_streamer_waits_for_whole_characters(backend):
    import torch

    from oss_generate.hf import _answer_streamer

    ids = backend.tokenizer("é ok", add_special_tokens=False)["input_ids"]
    assert backend.tokenizer.decode(ids[:1]).endswith("\ufffd")  # é is two byte tokens
    streamer = _answer_streamer(backend.tokenizer, ends=set(backend.eos_ids))
    streamer.put(torch.tensor([[0, 1]]))
    for token in ids:
        streamer.put(torch.tensor([token]))
    streamer.end()
    texts = list(streamer)
    assert all("\ufffd" not in text for text in texts)
    assert texts[0] == "é" and texts[-1] == "é ok"


# --- the chat function -----------------------------------------------------------------------------------------------


def test_chat_sends_the_training_prompt_with_the_history_as_turns(backend):
    answer = greedy(backend, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}], 16)
    assert answer.startswith(" ")  # kept as it is in the history (Gradio's display would strip it)
    turns = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": answer}]
    recorder = Recorder(backend)
    texts = list(chat(recorder, FOLLOW_UP, turns, temperature=0, max_new_tokens=20))
    [(request, params)] = recorder.calls
    assert request.messages == [{"role": "system", "content": SYSTEM}, *turns, {"role": "user", "content": FOLLOW_UP}]
    assert (params.temperature, params.max_new_tokens) == (0, 20)
    assert backend.render(request) == (
        f"{SYSTEM}\n\n@@ Instruction\n{QUESTION}\n\n@@ Response\n{answer}<|im_end|>\n\n"
        f"@@ Instruction\n{FOLLOW_UP}\n\n@@ Response\n"
    )
    assert_grows(texts)
    assert texts[-1] == greedy(backend, request.messages, 20)


def test_the_system_prompt_is_fixed_whatever_the_template(model):
    """A model with its own template (here ChatML) still gets the Magicoder system line, as a system turn."""
    with make_backend("transformers", str(model), device="cpu") as chatml:
        prompt = chatml.render(Request(conversation(QUESTION, [])))
    assert prompt == (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"
    )


# --- the command line ------------------------------------------------------------------------------------------------


def test_cli_errors(tmp_path, monkeypatch, capsys):
    assert cli([]) == 2
    assert "give --model_name_or_path" in capsys.readouterr().err
    assert cli(["--model_name_or_path", "m", "--temperature", "1.5"]) == 2
    assert "--temperature must be in [0.0, 1.0], not 1.5" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "gradio", None)  # as if Gradio were not installed: said before loading a model
    assert cli(["--model_name_or_path", str(tmp_path / "missing")]) == 2
    assert "pip install -e '.[demo]'" in capsys.readouterr().err


def test_cli_missing_model(tmp_path, capsys):
    pytest.importorskip("gradio", reason="the demo needs Gradio: pip install -e '.[demo]'")
    assert cli(["--model_name_or_path", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "missing" in err


def test_demo_serves_as_a_process(model, tmp_path):
    """`python -m demo.app` loads the model, then serves the page on the given host and port."""
    pytest.importorskip("gradio", reason="the demo needs Gradio: pip install -e '.[demo]'")
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    argv = [
        "--model_name_or_path",
        str(model),
        "--chat_template",
        "magicoder",
        "--port",
        str(port),
        "--share",
        "false",
    ]
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "demo.app", *argv], cwd=tmp_path, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert f"Chat with {model}" in page
    finally:
        process.terminate()
        process.wait(10)

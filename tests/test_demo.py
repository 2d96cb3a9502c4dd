"""The chat demo (demo/app.py) and the streaming it rests on (TransformersBackend.stream): streamed answers grow to
exactly the non-streamed greedy (or seeded) answer and stop at EOS, stop strings and max_new_tokens; the prompt is the
Magicoder training prompt with the fixed system line and the history as turns; the CLI's errors; the real server as
a process; and the page in headless Chromium driven by Playwright (skipped without /usr/bin/chromium or playwright)."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest

from demo.app import chat, cli, conversation
from oss_generate import GenerationError, Request, SamplingParams, make_backend
from oss_generate.base import encode_prompt
from tests.helpers.tiny_model import build_tiny_model

CHROMIUM = "/usr/bin/chromium"
# REFERENCE.md §3, verbatim (not imported from oss_common.template, so that a wrong template fails)
SYSTEM = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
    "responses to user instructions."
)
QUESTION = "Write a function that adds two numbers."
FOLLOW_UP = "Now add a docstring to it."


@pytest.fixture(autouse=True)
def offline_gradio(monkeypatch):
    """Gradio must not reach the internet: no analytics, no version check, no share link, no Hub telemetry."""
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("GRADIO_SHARE", "False")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The tiny model with larger random weights (its greedy answer depends on the whole prompt), whose
    generation_config suppresses every non-special token that is not letters, digits and spaces: its answers read
    the same as raw text and as rendered Markdown, so the browser test can compare them."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tiny = build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")
    path = tmp_path_factory.mktemp("readable") / "model"
    shutil.copytree(tiny, path)
    config = AutoConfig.from_pretrained(tiny)
    config.initializer_range = 0.5
    torch.manual_seed(1)
    lm = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    special = set(tokenizer.all_special_ids)
    lm.generation_config = GenerationConfig.from_pretrained(tiny)
    lm.generation_config.suppress_tokens = [
        i
        for i in range(len(tokenizer))
        if i not in special and not re.fullmatch(r"[A-Za-z0-9 ]+", tokenizer.decode(i))
    ]
    lm.save_pretrained(path)
    return path


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


class Recorder:
    """A backend that records what it is asked, answering through another one (or with a scripted text)."""

    def __init__(self, backend=None, answer: str | None = None, delay: float = 0.0):
        self.backend, self.answer, self.delay = backend, answer, delay
        self.model = backend.model if backend else "scripted"
        self.calls = []

    def stream(self, request, params):
        self.calls.append((request, params))
        texts = self.backend.stream(request, params) if self.backend else _prefixes(self.answer)
        for text in texts:
            time.sleep(self.delay)
            yield text


def _prefixes(text: str, size: int = 3):
    return (text[:end] for end in [*range(size, len(text), size), len(text)])


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


# --- in a real browser -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need `pip install playwright`")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"the browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    # Playwright gives the browser a fresh profile; the flags keep Chromium from reaching the internet
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        yield browser
        browser.close()


@contextmanager
def serve(backend, browser):
    """The demo for `backend` on a loopback port, in this process, and a browser page showing it; the page must ask
    nothing of any other host."""
    pytest.importorskip("gradio", reason="the demo needs Gradio: pip install -e '.[demo]'")
    from demo.app import build_demo

    demo = build_demo(backend).queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    urls = []
    page.on("request", lambda request: urls.append(request.url))
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#prompt textarea")
        yield page
    finally:
        page.close()
        demo.close()
    # the page loads nothing from elsewhere (fonts, scripts, analytics): it works offline
    assert urls and all(url.startswith((f"http://127.0.0.1:{port}/", "data:", "blob:")) for url in urls), urls


def set_slider(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def words(text: str) -> str:
    return " ".join(text.split())


def watch_answer(page, index: int, expected: str, timeout: float = 60) -> list[str]:
    """The texts the `index`-th answer in the page showed, sampled until it reads `expected` (spaces collapsed)."""
    answer = page.locator('#chat [data-testid="bot"]').nth(index)
    seen = []
    deadline = time.monotonic() + timeout
    while not seen or seen[-1] != words(expected):
        assert time.monotonic() < deadline, f"the answer reads {seen[-1:]!r}, expected {words(expected)!r}"
        text = words(answer.inner_text()) if answer.count() else ""
        if text and (not seen or text != seen[-1]):
            seen.append(text)
        time.sleep(0.02)
    return seen


def assert_cleared(page, recorder) -> None:
    """The page shows no message, and the next question is asked with no history."""
    page.wait_for_function("!document.querySelector('#chat [data-testid=user], #chat [data-testid=bot]')")
    asked = len(recorder.calls)
    page.fill("#prompt textarea", QUESTION)
    page.click("#send")
    deadline = time.monotonic() + 30
    while len(recorder.calls) == asked:
        assert time.monotonic() < deadline, "the question was not asked"
        # a click that lands while Gradio is still finishing the clear event can be dropped (seen on a loaded
        # machine): the question is then still in the box, and a user would press Send again
        if time.monotonic() > deadline - 25 and page.input_value("#prompt textarea") in ("", QUESTION):
            page.fill("#prompt textarea", QUESTION)  # the Clear button empties the box: it may land after typing
            page.click("#send")
        time.sleep(0.2)
    page.locator('#chat [data-testid="bot"]').wait_for(timeout=60_000)
    request, _ = recorder.calls[-1]
    assert request.messages == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]


def test_browser_chat_streams_the_model_answers(backend, browser, tmp_path):
    """Type, send, watch the answer grow to the greedy answer; a follow-up sees the first turn; Clear empties."""
    history = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    first = greedy(backend, history, 40)
    history += [{"role": "assistant", "content": first}, {"role": "user", "content": FOLLOW_UP}]
    second = greedy(backend, history, 40)
    assert words(first) != words(second)
    paced = Recorder(backend, delay=0.03)  # answers reach the page a token every 30 ms at least
    with serve(paced, browser) as page:
        set_slider(page, "max-new-tokens", 40)
        page.fill("#prompt textarea", QUESTION)
        page.click("#send")
        seen = watch_answer(page, 0, first)
        assert len(seen) >= 3 and all(words(first).startswith(text) for text in seen), seen
        assert page.input_value("#prompt textarea") == ""
        page.fill("#prompt textarea", FOLLOW_UP)
        page.press("#prompt textarea", "Enter")
        watch_answer(page, 1, second)
        assert [words(t) for t in page.locator('#chat [data-testid="user"]').all_inner_texts()] == [
            QUESTION,
            FOLLOW_UP,
        ]
        assert [p.max_new_tokens for _, p in paced.calls] == [40, 40]
        page.screenshot(path=tmp_path / "demo.png", full_page=True)
        shutil.copy(tmp_path / "demo.png", "/tmp/demo_screenshot.png")
        page.click("#clear")
        assert_cleared(page, paced)
        watch_answer(page, 0, first)
        # a prompt that does not fit: the error shows, the question is back in the box, the history as it was
        set_slider(page, "max-new-tokens", 2048)
        page.fill("#prompt textarea", FOLLOW_UP)
        page.click("#send")
        page.get_by_text("Press Clear to start a new conversation").wait_for()
        assert "over the limit" in page.locator("body").inner_text()
        page.wait_for_function("document.querySelector('#prompt textarea').value != ''")
        assert page.input_value("#prompt textarea") == FOLLOW_UP
        assert page.locator('#chat [data-testid="user"]').all_inner_texts() == [QUESTION]


def test_browser_renders_code_and_passes_the_sliders(browser, tmp_path):
    answer = "Here it is:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nCall `add(1, 2)`."
    scripted = Recorder(answer=answer, delay=0.01)
    with serve(scripted, browser) as page:
        set_slider(page, "temperature", 0.7)
        set_slider(page, "max-new-tokens", 100)
        page.fill("#prompt textarea", QUESTION)
        page.click("#send")
        code = page.locator('#chat [data-testid="bot"] pre code')
        page.wait_for_function(
            "document.querySelector('#chat [data-testid=\"bot\"]')?.innerText.includes('Call add(1, 2)')"
        )
        assert code.inner_text().strip() == "def add(a, b):\n    return a + b"
        [(request, params)] = scripted.calls
        assert (params.temperature, params.max_new_tokens) == (0.7, 100)
        assert request.messages == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
        page.screenshot(path=tmp_path / "code.png", full_page=True)
        shutil.copy(tmp_path / "code.png", "/tmp/demo_screenshot_code.png")
        page.click('#chat button[aria-label="Clear"]')  # the Chatbot's own clear icon forgets the history too
        assert_cleared(page, scripted)

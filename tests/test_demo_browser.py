"""The chat demo's page in headless Chromium driven by Playwright (skipped without /usr/bin/chromium or playwright):
answers stream into the page, code renders, the sliders reach the backend, the page asks nothing of other hosts."""

import shutil
import time
from contextlib import contextmanager

import pytest

from oss_generate import Request, SamplingParams, make_backend
from tests.helpers.demo_models import FOLLOW_UP, QUESTION, SYSTEM, Recorder, free_port, offline_gradio, readable_model

CHROMIUM = "/usr/bin/chromium"


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

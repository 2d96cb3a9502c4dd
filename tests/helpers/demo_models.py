"""The demo tests' model and backends: the tiny model with larger random weights whose answers read the same as raw
text and as rendered Markdown, and a backend that records what it is asked."""

import re
import shutil
import socket
import time

from tests.helpers.tiny_model import build_tiny_model

# REFERENCE.md §3, verbatim (not imported from oss_common.template, so that a wrong template fails)
SYSTEM = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
    "responses to user instructions."
)
QUESTION = "Write a function that adds two numbers."
FOLLOW_UP = "Now add a docstring to it."


def offline_gradio(monkeypatch) -> None:
    """Gradio must not reach the internet: no analytics, no version check, no share link, no Hub telemetry."""
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("GRADIO_SHARE", "False")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def readable_model(tmp_path_factory):
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

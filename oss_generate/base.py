"""The interface every generation backend implements, and what the backends share.

A `Request` is a chat conversation (`messages`) plus an optional `response_prefix` the assistant turn is pre-filled
with (HumanEval's prompt, "```python", ...): the model continues after the prefix. A request with no messages is a
raw-text request: `response_prefix` is then the whole prompt, completed as it is with no chat template (base models).

Prompts are rendered with the tokenizer's chat template (`add_generation_prompt=True`) and tokenized without adding
special tokens, as TRL tokenizes conversations for training, so a model trained by train_sft.py sees at inference
exactly the text it was trained on. Raw-text prompts are tokenized like any text (the tokenizer adds BOS if it does).
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from oss_common.errors import detail
from oss_common.names import is_local
from oss_common.template import load_chat_template

# Context lengths at or above this are tokenizers' "no limit" placeholders (VERY_LARGE_INTEGER), not real limits.
_NO_LIMIT = 10**8


class GenerationError(Exception):
    """A problem the user can fix (missing model, no chat template, prompt too long, bad backend or server answer);
    the message names the problem and the fix."""


@dataclass
class SamplingParams:
    max_new_tokens: int = 512
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    top_k: int = 0  # 0 = off
    n: int = 1  # completions per request
    seed: int | None = None
    stop: list[str] = field(default_factory=list)  # output is cut at the first stop string (stop string excluded)

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise GenerationError(f"max_new_tokens must be at least 1, not {self.max_new_tokens}.")
        if self.temperature < 0:
            raise GenerationError(f"temperature must be >= 0 (0 = greedy), not {self.temperature}.")
        if not 0 < self.top_p <= 1:
            raise GenerationError(f"top_p must be in (0, 1], not {self.top_p}.")
        if self.top_k < 0:
            raise GenerationError(f"top_k must be >= 0 (0 = off), not {self.top_k}.")
        if self.n < 1:
            raise GenerationError(f"n (num_return_sequences) must be at least 1, not {self.n}.")
        if any(not s for s in self.stop):
            raise GenerationError("stop strings must not be empty.")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class Request:
    messages: list[dict]  # chat messages; may start with a system message; empty = raw text in response_prefix
    response_prefix: str = ""  # text the assistant turn is pre-filled with; the model continues after it
    id: str | None = None

    @property
    def raw(self) -> bool:
        return not self.messages


def request_name(request: Request, position: int) -> str:
    return f"request {request.id!r}" if request.id is not None else f"request #{position} of the batch"


def cut_at_stop(text: str, stop: list[str]) -> str:
    """`text` up to the first occurrence of any stop string (excluded)."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=len(text))
    return text[:cut]


def template_hash(template: str | None) -> str | None:
    return hashlib.sha256(template.encode()).hexdigest()[:16] if template else None


def missing_model_message(model: str) -> str:
    return (
        f"model folder {model!r} does not exist. Give the output_dir of train_sft.py (a folder with config.json), "
        "or a Hugging Face Hub id such as org/name."
    )


def load_tokenizer(model: str, revision: str | None, trust_remote_code: bool, chat_template: str | None):
    """The model's tokenizer, with `chat_template` (see `load_chat_template`) replacing its own when given."""
    from transformers import AutoTokenizer

    if is_local(model) and not os.path.isdir(os.path.expanduser(model)):
        raise GenerationError(missing_model_message(model))
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            os.path.expanduser(model), revision=revision, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError) as err:
        raise GenerationError(
            f"cannot load the tokenizer of {model!r} (revision {revision or 'main'}): {detail(err)}. "
            "Check the Hub id and revision (gated models need `hf auth login` or HF_TOKEN; offline, only cached "
            "revisions load), or give a local model folder."
        ) from err
    try:
        template = load_chat_template(chat_template)
    except OSError as err:
        raise GenerationError(f"cannot read the chat template file {chat_template!r}: {detail(err)}.") from err
    if template is not None:
        tokenizer.chat_template = template
    return tokenizer


def render_prompt(tokenizer, request: Request, model: str = "the model") -> str:
    """The exact prompt text: the chat template with the generation prompt, then the response prefix."""
    if request.raw:
        return request.response_prefix
    if not getattr(tokenizer, "chat_template", None):
        raise GenerationError(
            f"the tokenizer of {model} has no chat template, so chat messages cannot be rendered. Pass "
            "`chat_template=` (a Jinja string, a .jinja file, or 'magicoder' for the Magicoder training template, "
            "oss_common.template.CHAT_TEMPLATE; --chat_template on the CLI), or use raw prompts (a Request with no "
            "messages whose response_prefix is the whole text; --raw on the CLI)."
        )
    text = tokenizer.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=True)
    return text + request.response_prefix


def encode_prompt(tokenizer, request: Request, model: str = "the model") -> list[int]:
    """Token ids of the rendered prompt. Templates carry their own special tokens (BOS), so none are added to them;
    raw text is tokenized as the tokenizer does by default."""
    text = render_prompt(tokenizer, request, model)
    return tokenizer(text, add_special_tokens=request.raw)["input_ids"]


def context_length(config, tokenizer) -> int | None:
    """The model's context: max_position_embeddings (or its equivalent) from the config, else the tokenizer's
    model_max_length when it is a real limit."""
    if config is not None:
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            value = getattr(text_config, name, None)
            if isinstance(value, int) and 0 < value < _NO_LIMIT:
                return value
    value = getattr(tokenizer, "model_max_length", None)
    if isinstance(value, int) and 0 < value < _NO_LIMIT:
        return value
    return None


def check_prompt_length(request: Request, position: int, n_tokens: int, context: int | None, max_new: int) -> None:
    if context is None:
        return
    limit = context - max_new
    if n_tokens > limit:
        raise GenerationError(
            f"{request_name(request, position)}: the prompt is {n_tokens} tokens, over the limit of {limit} (the "
            f"model's context {context} minus max_new_tokens {max_new}). Shorten the prompt or lower max_new_tokens."
        )


class Backend(ABC):
    """Generates completions for a batch of requests. Subclasses set `name`, `model` and, when they render prompts
    locally, `tokenizer`; `usage` counts prompt and completion tokens where the backend knows them."""

    name: str = ""
    model: str = ""
    tokenizer = None

    def __init__(self):
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}

    def render(self, request: Request) -> str:
        """The exact prompt text: chat template with add_generation_prompt=True, then response_prefix."""
        if request.raw:
            return request.response_prefix
        if self.tokenizer is None:
            raise GenerationError(
                f"the {self.name} backend has no tokenizer to render prompts with: pass `tokenizer=` (a local path "
                "or Hub id of the model's tokenizer)."
            )
        return render_prompt(self.tokenizer, request, self.model)

    @abstractmethod
    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[str]]:
        """One list of `params.n` completions per request, in order. Each completion is the text produced after the
        response prefix, decoded without special tokens, stopped at EOS, cut at the first stop string. Batched
        backends process the list as one batch."""

    def describe(self) -> dict:
        """Settings to record next to scores: backend name, model, revision, dtype, library versions."""
        return {"backend": self.name, "model": self.model}

    def close(self) -> None:  # noqa: B027 (an optional hook; not every backend holds something to free)
        """Free the model (or client)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

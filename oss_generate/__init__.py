"""Text generation behind one small interface: a chat `Request` in, completions out, whatever runs the model.

    from oss_generate import Request, SamplingParams, make_backend

    with make_backend("transformers", "out/magicoder-cl-7b") as backend:
        [[completion]] = backend.generate([Request([{"role": "user", "content": "..."}], "```python\\n")],
                                          SamplingParams(max_new_tokens=512))

Backends (one module each, imported only when chosen): `transformers` (default; local weights, batched with left
padding), `vllm` (in-process vLLM on a CUDA GPU; `pip install '.[vllm]'`) and `openai` (any OpenAI-compatible
server: OpenAI, `vllm serve`, `transformers serve`, TGI).
"""

from __future__ import annotations

import importlib

from oss_generate.base import Backend, GenerationError, Request, SamplingParams

BACKENDS = {
    "transformers": "oss_generate.hf:TransformersBackend",
    "vllm": "oss_generate.vllm_backend:VLLMBackend",
    "openai": "oss_generate.openai_api:OpenAIBackend",
}

# The options each backend takes from a run's settings (generate.py's flags, eval's recipe fields).
BACKEND_OPTIONS = {
    "transformers": ("revision", "dtype", "device", "trust_remote_code", "chat_template", "attn_implementation"),
    "vllm": (
        "revision",
        "dtype",
        "seed",
        "tensor_parallel_size",
        "max_model_len",
        "trust_remote_code",
        "chat_template",
    ),
    "openai": ("base_url", "api_key_env", "api", "tokenizer", "chat_template", "revision", "concurrency"),
}

__all__ = [
    "BACKENDS",
    "BACKEND_OPTIONS",
    "Backend",
    "GenerationError",
    "Request",
    "SamplingParams",
    "backend_options",
    "make_backend",
]


def backend_options(name: str, settings: dict) -> dict:
    """The options of backend `name` found in `settings`; the settings it does not take are left out."""
    return {option: settings[option] for option in BACKEND_OPTIONS[name] if option in settings}


def make_backend(name: str, model: str, **kwargs) -> Backend:
    """The backend `name` (a key of BACKENDS) for `model`; kwargs are the backend's own options."""
    if name not in BACKENDS:
        raise GenerationError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}.")
    if not model:
        raise GenerationError("no model given: set model_name_or_path (a local folder, a Hub id or a served name).")
    module_name, class_name = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)(model, **kwargs)

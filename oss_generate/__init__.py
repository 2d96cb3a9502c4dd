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

__all__ = ["BACKENDS", "Backend", "GenerationError", "Request", "SamplingParams", "make_backend"]


def make_backend(name: str, model: str, **kwargs) -> Backend:
    """The backend `name` (a key of BACKENDS) for `model`; kwargs are the backend's own options."""
    if name not in BACKENDS:
        raise GenerationError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}.")
    if not model:
        raise GenerationError("no model given: set model_name_or_path (a local folder, a Hub id or a served name).")
    module_name, class_name = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)(model, **kwargs)

"""The default backend: `transformers` `generate` on local weights (a train_sft.py output folder or a Hub id).

Requests of a batch are left-padded and generated together. Greedy decoding when temperature is 0; otherwise
sampling with temperature/top_p/top_k, `n` completions per request through num_return_sequences, and the seed set
with `transformers.set_seed` before each batch (so sampled outputs depend on the batch they were drawn in). Decoding
stops at the model's EOS (its generation_config's plus the tokenizer's) or at a stop string; the decoded text is also
cut at the first stop string. Fields of the model's generation_config that SamplingParams does not set (e.g.
repetition_penalty) still apply.

The prompt is the tokenizer's chat template: a model saved by train_sft.py carries the Magicoder template, so the
default renders the training prompt. `chat_template=` overrides it (a Jinja string, a .jinja file, or "magicoder").
A request with no messages is raw text (its response_prefix is the whole prompt, no template).
"""

from __future__ import annotations

import logging
import os

from oss_generate.base import (
    Backend,
    GenerationError,
    Request,
    SamplingParams,
    check_prompt_length,
    context_length,
    cut_at_stop,
    detail,
    encode_prompt,
    load_tokenizer,
    looks_local,
    missing_model_message,
    template_hash,
)

logger = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "bfloat16", "float16")


class TransformersBackend(Backend):
    name = "transformers"

    def __init__(
        self,
        model: str,
        *,
        revision: str | None = None,
        dtype: str = "auto",
        device: str = "auto",
        trust_remote_code: bool = False,
        chat_template: str | None = None,
        attn_implementation: str | None = None,
    ):
        super().__init__()
        import torch
        from transformers import AutoModelForCausalLM

        if dtype not in DTYPES:
            raise GenerationError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}.")
        self.model = model
        self.revision = revision
        self.tokenizer = load_tokenizer(model, revision, trust_remote_code, chat_template)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

        if device == "auto":
            device_map = "auto" if torch.cuda.is_available() else "cpu"
        else:
            device_map = device
        path = os.path.expanduser(model) if looks_local(model) else model
        if looks_local(model) and not os.path.isdir(path):
            raise GenerationError(missing_model_message(model))
        try:
            self.lm = AutoModelForCausalLM.from_pretrained(
                path,
                revision=revision,
                dtype=dtype if dtype == "auto" else getattr(torch, dtype),
                device_map=device_map,
                trust_remote_code=trust_remote_code,
                **({"attn_implementation": attn_implementation} if attn_implementation else {}),
            )
        except OSError as err:
            raise GenerationError(
                f"cannot load the weights of {model!r} (revision {revision or 'main'}): {detail(err)}. "
                "Check that the folder holds a saved model (config.json, *.safetensors), or the Hub id and revision."
            ) from err
        self.lm.eval()
        self.context = context_length(self.lm.config, self.tokenizer)
        eos = self.lm.generation_config.eos_token_id
        eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in eos:
            eos.append(self.tokenizer.eos_token_id)
        if not eos:
            raise GenerationError(
                f"{model!r} has no EOS token (neither its generation_config nor its tokenizer names one), so "
                "generation could not stop before max_new_tokens. Set eos_token in the tokenizer."
            )
        self.eos_ids = eos
        self._template = self.tokenizer.chat_template
        logger.info("Loaded %s (%s, %s, context %s)", model, self.lm.dtype, self.lm.device, self.context or "unknown")

    def _generation_config(self, params: SamplingParams, n: int):
        from transformers import GenerationConfig

        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=not params.greedy,
            num_return_sequences=n,
            eos_token_id=self.eos_ids,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        if params.greedy:  # neutral values, so that a sampling generation_config of the model does not warn
            config.update(temperature=1.0, top_p=1.0)
        else:
            config.update(temperature=params.temperature, top_p=params.top_p, top_k=params.top_k)
        if params.stop:
            config.stop_strings = list(params.stop)
        return config

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[str]]:
        if not requests:
            return []
        import torch
        import transformers

        ids = []
        for position, request in enumerate(requests):
            prompt = encode_prompt(self.tokenizer, request, self.model)
            check_prompt_length(request, position, len(prompt), self.context, params.max_new_tokens)
            ids.append(prompt)
        batch = self.tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt").to(self.lm.device)
        n = 1 if params.greedy else params.n  # greedy completions are all the same: generate one, repeat it
        if params.seed is not None:
            transformers.set_seed(params.seed)
        with torch.inference_mode():
            output = self.lm.generate(
                **batch,
                generation_config=self._generation_config(params, n),
                tokenizer=self.tokenizer if params.stop else None,
            )
        width = batch["input_ids"].shape[1]
        ends = set(self.eos_ids) | {self.tokenizer.pad_token_id}
        texts = []
        for sequence in output[:, width:].tolist():
            length = next((i for i, token in enumerate(sequence) if token in ends), len(sequence))
            self.usage["completion_tokens"] += length + (length < len(sequence) and sequence[length] in self.eos_ids)
            text = self.tokenizer.decode(sequence[:length], skip_special_tokens=True)
            texts.append(cut_at_stop(text, params.stop))
        self.usage["prompt_tokens"] += sum(map(len, ids))
        grouped = [texts[i * n : (i + 1) * n] for i in range(len(requests))]
        return [group * params.n if n == 1 else group for group in grouped]

    def describe(self) -> dict:
        import torch
        import transformers

        return {
            "backend": self.name,
            "model": self.model,
            "revision": self.revision,
            "commit": getattr(self.lm.config, "_commit_hash", None),
            "dtype": str(self.lm.dtype).removeprefix("torch."),
            "device": str(self.lm.device),
            "attn_implementation": getattr(self.lm.config, "_attn_implementation", None),
            "chat_template_sha256": template_hash(self._template),
            "context": self.context,
            "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
        }

    def close(self) -> None:
        import gc

        import torch

        self.lm = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

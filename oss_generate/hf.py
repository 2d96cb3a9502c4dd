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

`stream(request, params)` gives one request's completion as it grows (for a chat UI): `generate` runs in a thread
and hands each token to a `transformers.TextIteratorStreamer`; the iterator yields the whole text so far, and its
last item equals what `generate` returns for the same request (greedy, or sampled with the same seed).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from oss_common.names import is_local
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
        path = os.path.expanduser(model) if is_local(model) else model
        if is_local(model) and not os.path.isdir(path):
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

    def stream(self, request: Request, params: SamplingParams) -> Iterator[str]:
        """The completion of one request as it grows: each item is the whole text so far (after the response prefix),
        a new one as each token adds text; the last equals `generate([request], params)[0][0]`. Stops at EOS, at a stop
        string (a partial one at the end is held back) or after max_new_tokens. Closing the iterator early (a
        client that goes away) stops the decoding."""
        if params.n > 1 and not params.greedy:
            raise GenerationError(f"stream() gives one completion per request: set n to 1 (not {params.n}).")
        prompt = encode_prompt(self.tokenizer, request, self.model)
        check_prompt_length(request, 0, len(prompt), self.context, params.max_new_tokens)
        return self._stream(prompt, params)

    def _stream(self, prompt: list[int], params: SamplingParams) -> Iterator[str]:
        import threading

        import torch
        import transformers

        # generate() cuts a completion at the first EOS or pad token: stopping there gives the same text
        ends = set(self.eos_ids) | {self.tokenizer.pad_token_id}
        config = self._generation_config(params, 1)
        config.eos_token_id = sorted(ends)
        streamer = _answer_streamer(self.tokenizer, ends)
        cancel = threading.Event()
        failures: list[Exception] = []

        def cancelled(input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.lm.generate(
                        input_ids=torch.tensor([prompt], device=self.lm.device),
                        attention_mask=torch.ones(1, len(prompt), dtype=torch.long, device=self.lm.device),
                        generation_config=config,
                        streamer=streamer,
                        stopping_criteria=transformers.StoppingCriteriaList([cancelled]),
                        tokenizer=self.tokenizer if params.stop else None,
                    )
            except Exception as err:  # raised again in the consuming thread, after the queue is closed
                failures.append(err)
                streamer.text_queue.put(streamer.stop_signal)

        if params.seed is not None:
            transformers.set_seed(params.seed)
        thread = threading.Thread(target=run, name="stream-generate", daemon=True)
        thread.start()
        shown = ""
        try:
            for text in streamer:
                visible = _without_partial_stop(cut_at_stop(text, params.stop), params.stop)
                if visible != shown:
                    shown = visible
                    yield shown
        finally:
            cancel.set()
            thread.join()
            self.usage["prompt_tokens"] += len(prompt)
            self.usage["completion_tokens"] += len(streamer.ids) + streamer.ended
        if failures:
            raise failures[0]
        final = cut_at_stop(streamer.text, params.stop)
        if final != shown:
            yield final

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


def _without_partial_stop(text: str, stop: list[str]) -> str:
    """`text` less a final piece that could be the start of a stop string (shown only once it is not)."""
    for size in range(min(len(text), max(map(len, stop), default=1) - 1), 0, -1):
        if any(s.startswith(text[-size:]) for s in stop):
            return text[:-size]
    return text


def _answer_streamer(tokenizer, ends: set[int]):
    """A `TextIteratorStreamer` that queues the whole answer text after every token. The stock one queues whole words
    and decodes each line on its own, which drops the first space of a line with SentencePiece tokenizers (one space
    of indentation with CodeLlama's); this one decodes all the answer's tokens each time (`ids`, up to the first end
    token), waiting only while the text ends in an incomplete UTF-8 character."""
    from transformers import TextIteratorStreamer

    class AnswerStreamer(TextIteratorStreamer):
        def __init__(self):
            super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
            self.ids: list[int] = []
            self.ended = False  # an end token came (counted in usage, not shown)
            self.text = ""

        def put(self, value) -> None:
            if self.next_tokens_are_prompt:  # generate() passes the prompt first
                self.next_tokens_are_prompt = False
                return
            for token in value.reshape(-1).tolist():
                if self.ended or token in ends:
                    self.ended = True
                    return
                self.ids.append(token)
            text = self.tokenizer.decode(self.ids, **self.decode_kwargs)
            if not text.endswith("\ufffd"):
                self.text = text
                self.on_finalized_text(text)

        def end(self) -> None:
            self.text = self.tokenizer.decode(self.ids, **self.decode_kwargs)
            self.on_finalized_text(self.text, stream_end=True)

    return AnswerStreamer()

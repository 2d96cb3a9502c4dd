"""In-process vLLM (`vllm.LLM.generate`) for machines with CUDA GPUs: `pip install '.[vllm]'`.

Prompts are rendered and tokenized here with the model's tokenizer, exactly as the transformers backend does (chat
template + response prefix, no special tokens added to templated text), and handed to vLLM as token ids, so both
backends feed the model the same tokens. vLLM schedules the whole list given to `generate` at once (continuous
batching). Greedy requests ask for one completion and repeat it `n` times; `top_k` 0 (off) is vLLM's -1.
"""

from __future__ import annotations

import logging

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
    template_hash,
)

logger = logging.getLogger(__name__)


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        revision: str | None = None,
        dtype: str = "auto",
        seed: int | None = None,
        tensor_parallel_size: int = 1,
        max_model_len: int | None = None,
        trust_remote_code: bool = False,
        chat_template: str | None = None,
    ):
        super().__init__()
        try:
            import vllm
        except ImportError as err:
            raise GenerationError(
                f"the vllm backend needs vLLM: pip install '.[vllm]' (needs a CUDA GPU) ({err}). Without a GPU use "
                "the transformers backend, or the openai backend against a `vllm serve` elsewhere."
            ) from err
        self.vllm = vllm
        self.model = model
        self.revision = revision
        self.dtype = dtype
        self.seed = 0 if seed is None else seed
        self.tensor_parallel_size = tensor_parallel_size
        self.tokenizer = load_tokenizer(model, revision, trust_remote_code, chat_template)
        try:
            self.llm = vllm.LLM(
                model=model,
                revision=revision,
                dtype=dtype,
                seed=self.seed,
                tensor_parallel_size=tensor_parallel_size,
                max_model_len=max_model_len,
                trust_remote_code=trust_remote_code,
            )
        except (OSError, ValueError) as err:
            raise GenerationError(
                f"vLLM could not load {model!r} (revision {revision or 'main'}): {detail(err)}. "
                "Check the model id or folder, that vLLM supports its architecture, and max_model_len / "
                "tensor_parallel_size for your GPUs."
            ) from err
        engine_config = getattr(getattr(self.llm, "llm_engine", None), "model_config", None)
        self.context = max_model_len or getattr(engine_config, "max_model_len", None)
        if self.context is None:
            self.context = context_length(None, self.tokenizer)

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[str]]:
        if not requests:
            return []
        prompts = []
        for position, request in enumerate(requests):
            ids = encode_prompt(self.tokenizer, request, self.model)
            check_prompt_length(request, position, len(ids), self.context, params.max_new_tokens)
            prompts.append({"prompt_token_ids": ids})
        n = 1 if params.greedy else params.n
        sampling = self.vllm.SamplingParams(
            n=n,
            temperature=params.temperature,
            top_p=1.0 if params.greedy else params.top_p,
            top_k=params.top_k if params.top_k > 0 else -1,
            max_tokens=params.max_new_tokens,
            stop=list(params.stop) or None,
            seed=params.seed,
        )
        outputs = self.llm.generate(prompts, sampling, use_tqdm=False)
        if len(outputs) != len(requests):
            raise GenerationError(f"vLLM returned {len(outputs)} outputs for {len(requests)} requests.")
        results = []
        for prompt, output in zip(prompts, outputs, strict=True):
            completions = sorted(output.outputs, key=lambda c: c.index)
            self.usage["prompt_tokens"] += len(prompt["prompt_token_ids"])
            self.usage["completion_tokens"] += sum(len(c.token_ids) for c in completions)
            texts = [cut_at_stop(c.text, params.stop) for c in completions]
            results.append(texts * params.n if n == 1 else texts)
        return results

    def describe(self) -> dict:
        return {
            "backend": self.name,
            "model": self.model,
            "revision": self.revision,
            "dtype": self.dtype,
            "seed": self.seed,
            "tensor_parallel_size": self.tensor_parallel_size,
            "context": self.context,
            "chat_template_sha256": template_hash(self.tokenizer.chat_template),
            "versions": {"vllm": getattr(self.vllm, "__version__", None)},
        }

    def close(self) -> None:
        self.llm = None

"""Any OpenAI-compatible server: the OpenAI API, `vllm serve`, `transformers serve`, TGI.

`model` is the name the server serves. The API key is read from the environment variable named by `api_key_env`
(default OPENAI_API_KEY) and never logged; a server given by `base_url` with no key set gets the placeholder "EMPTY"
that local servers accept. The requests of a batch are sent concurrently (`concurrency` threads); the client retries
rate limits, 5xx answers and timeouts itself (`max_retries`), and errors no retry can fix (401, 403, 404, 400) raise
`GenerationError` with the fix.

Two modes:
- `api="chat"` (default): chat.completions with the request's messages; the server applies its own chat template.
  A response prefix is sent as a final assistant message with `extra_body={"continue_final_message": True,
  "add_generation_prompt": False}`, vLLM's server extension for continuing a pre-filled assistant turn (servers
  without it may ignore the prefix or answer after it as a new turn).
- `api="completions"`: the prompt is rendered here with `tokenizer=` (a local path or Hub id; `chat_template=`
  overrides its template) exactly as the local backends render it, and sent to completions.create with
  `extra_body={"add_special_tokens": False}` (vLLM's extension; the template already holds BOS).

A raw-text request (no messages) always goes to completions.create with its text as the prompt. `top_k` (not in
the OpenAI API) is sent in extra_body when set, which vLLM honours. Greedy requests ask for one completion and repeat
it `n` times.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from oss_common.errors import request_url, server_message
from oss_common.openai_env import NO_KEY, api_key, endpoint_name
from oss_generate.base import (
    Backend,
    GenerationError,
    Request,
    SamplingParams,
    cut_at_stop,
    detail,
    load_tokenizer,
    template_hash,
)

logger = logging.getLogger(__name__)

APIS = ("chat", "completions")


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        api: str = "chat",
        tokenizer: str | None = None,
        chat_template: str | None = None,
        revision: str | None = None,
        concurrency: int = 8,
        timeout: float = 600.0,
        max_retries: int = 3,
    ):
        super().__init__()
        import openai

        if api not in APIS:
            raise GenerationError(f"api {api!r} is not one of {', '.join(APIS)}.")
        if concurrency < 1:
            raise GenerationError(f"concurrency must be at least 1, not {concurrency}.")
        self.model = model
        self.base_url = base_url
        self.api = api
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.tokenizer_name = tokenizer
        self.served = {}  # what the server reports: model name, system_fingerprint
        self._key = api_key(base_url, api_key_env)
        if self._key is None:  # requests would go to the OpenAI API
            raise GenerationError(
                f"no API key: set the environment variable {api_key_env} for {endpoint_name(base_url)}, or give "
                "base_url (e.g. http://127.0.0.1:8000/v1) for an OpenAI-compatible server."
            )
        self._tokenizer = None
        self._tokenizer_options = (revision, chat_template)
        if api == "completions":
            if not tokenizer:
                raise GenerationError(
                    "api 'completions' renders the chat template here: pass tokenizer= (--tokenizer; a local path or "
                    "Hub id of the served model's tokenizer), or use api 'chat' to let the server apply its template."
                )
            self._tokenizer = load_tokenizer(tokenizer, revision, False, chat_template)  # fails before any request
        self.client = openai.OpenAI(api_key=self._key, base_url=base_url, max_retries=max_retries, timeout=timeout)

    @property
    def tokenizer(self):
        """The tokenizer named by `tokenizer=`, loaded when first needed (in chat mode only `render` uses it)."""
        if self._tokenizer is None and self.tokenizer_name:
            revision, chat_template = self._tokenizer_options
            self._tokenizer = load_tokenizer(self.tokenizer_name, revision, False, chat_template)
        return self._tokenizer

    # --- one request --------------------------------------------------------------------------------------------

    def _sampling(self, params: SamplingParams, n: int) -> tuple[dict, dict]:
        kwargs = {"temperature": params.temperature, "top_p": 1.0 if params.greedy else params.top_p}
        kwargs["max_tokens"] = params.max_new_tokens
        if n > 1:
            kwargs["n"] = n
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if params.seed is not None:
            kwargs["seed"] = params.seed
        extra = {"top_k": params.top_k} if params.top_k > 0 and not params.greedy else {}
        return kwargs, extra

    def _one(self, request: Request, params: SamplingParams) -> list[str]:
        import openai

        n = 1 if params.greedy else params.n
        kwargs, extra = self._sampling(params, n)
        try:
            if request.raw or self.api == "completions":
                prompt = self.render(request)
                if not request.raw:
                    extra["add_special_tokens"] = False
                response = self.client.completions.create(
                    model=self.model, prompt=prompt, extra_body=extra or None, **kwargs
                )
                texts = [c.text or "" for c in sorted(response.choices, key=lambda c: c.index)]
            else:
                messages = list(request.messages)
                if request.response_prefix:
                    messages.append({"role": "assistant", "content": request.response_prefix})
                    extra |= {"continue_final_message": True, "add_generation_prompt": False}
                response = self.client.chat.completions.create(
                    model=self.model, messages=messages, extra_body=extra or None, **kwargs
                )
                texts = [c.message.content or "" for c in sorted(response.choices, key=lambda c: c.index)]
        except openai.APIError as err:
            raise GenerationError(self._error_message(err, request)) from err
        if len(texts) != n:
            raise GenerationError(
                f"{self._where()} returned {len(texts)} completions for n={n}: it does not support `n`. Use "
                "num_return_sequences 1 (and run again with other seeds), or a server that supports n (vLLM)."
            )
        if not self.served:
            self.served = {
                "model": response.model,
                "system_fingerprint": getattr(response, "system_fingerprint", None),
            }
        usage = response.usage
        if usage is not None:
            self.usage["prompt_tokens"] += usage.prompt_tokens or 0
            self.usage["completion_tokens"] += usage.completion_tokens or 0
        texts = [cut_at_stop(text, params.stop) for text in texts]
        return texts * params.n if n == 1 else texts

    def _where(self) -> str:
        return endpoint_name(self.base_url)

    def _error_message(self, err, request: Request) -> str:
        import openai

        where = self._where()
        message = server_message(err)
        if self._key != NO_KEY:
            message = message.replace(self._key, "***")
        route = "completions" if request.raw or self.api == "completions" else "chat-completions"
        if isinstance(err, openai.AuthenticationError):
            return (
                f"{where} rejected the API key (401: {message}). Set the environment variable {self.api_key_env} to a "
                "valid key for this server (or api_key_env to the variable that holds it)."
            )
        if isinstance(err, openai.PermissionDeniedError):
            return f"{where} refused access (403: {message}). Check that your key may use model {self.model!r}."
        if isinstance(err, openai.NotFoundError):
            return (
                f"{where} has no model {self.model!r} or no {route} route (404: {message}). Set model_name_or_path to "
                "a name the server lists at /v1/models, and check that base_url ends in /v1."
            )
        if isinstance(err, openai.APITimeoutError):
            return f"no answer from {request_url(err) or where} in time, after {self.max_retries} retries."
        if isinstance(err, openai.APIConnectionError):
            return (
                f"cannot reach {request_url(err) or where} ({detail(err.__cause__ or err)}). Is the server running, "
                "and is base_url right?"
            )
        if isinstance(err, openai.BadRequestError | openai.UnprocessableEntityError):
            return (
                f"{where} rejected the request ({err.status_code}: {message}). Check max_new_tokens against the "
                "model's context and the sampling settings."
            )
        status = getattr(err, "status_code", None)
        return f"{where} failed ({status}: {message}) after {self.max_retries} retries. Try again later."

    # --- the interface ------------------------------------------------------------------------------------------

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[str]]:
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            return list(pool.map(lambda request: self._one(request, params), requests))

    def describe(self) -> dict:
        import openai

        return {
            "backend": self.name,
            "model": self.model,
            "base_url": self._where(),
            "api": self.api,
            "api_key_env": self.api_key_env,
            "tokenizer": self.tokenizer_name,
            "chat_template_sha256": template_hash(getattr(self._tokenizer, "chat_template", None)),
            "served_model": self.served.get("model"),
            "system_fingerprint": self.served.get("system_fingerprint"),
            "versions": {"openai": openai.__version__},
        }

    def close(self) -> None:
        self.client.close()

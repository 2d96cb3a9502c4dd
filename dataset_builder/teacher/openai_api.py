"""Live requests to any OpenAI-compatible server with `openai.AsyncOpenAI`.

Exactly `concurrency` workers pull from one shared queue of requests, so that many requests stay in flight until the
queue runs dry (no chunk waits for its slowest request). Retries of what can succeed are the `openai` client's own
(429, 408/409, 5xx, timeouts and dropped connections; capped exponential backoff from 0.5 s to 8 s with jitter,
honouring `Retry-After` up to two minutes), `max_retries` times. An answer that arrives but cannot be used (malformed
JSON, no choices) is asked for again the same way. 400/401/403/404/422 stop the run at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Iterable

from dataset_builder.teacher.base import (
    Accounting,
    Request,
    TeacherBackend,
    TeacherError,
    TeacherSettings,
    completion_row,
)
from oss_common.errors import detail, request_url, server_message
from oss_common.openai_env import api_key, endpoint_name

logger = logging.getLogger(__name__)

RAW_RESPONSE = {"X-Stainless-Raw-Response": "true"}
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0


class BadPayload(ValueError):
    """A 200 answer whose body is not a usable chat completion."""


def fatal_errors() -> tuple[type[Exception], ...]:
    """The API errors that no retry can fix: the run stops at once."""
    import openai

    return (
        openai.AuthenticationError,
        openai.PermissionDeniedError,
        openai.NotFoundError,
        openai.BadRequestError,
        openai.UnprocessableEntityError,
    )


def fatal_message(err, base_url: str | None, model: str) -> str:
    """What went wrong, in the server's own words, and what to change."""
    import openai

    where = endpoint_name(base_url)
    status = getattr(err, "status_code", None)
    detail = server_message(err)
    if isinstance(err, openai.AuthenticationError):
        return f"{where} rejected the API key (401: {detail}). Set OPENAI_API_KEY to a valid key for this endpoint."
    if isinstance(err, openai.PermissionDeniedError):
        return f"{where} refused access (403: {detail}). Check that your key may use model {model!r}."
    if isinstance(err, openai.NotFoundError):
        return (
            f"{where} has no model {model!r} or no chat-completions route (404: {detail}). Check `teacher_model` "
            "and that `teacher_base_url` ends in /v1."
        )
    return (
        f"{where} rejected the request ({status}: {detail}). Check `teacher_model`, `max_tokens` (or set "
        "`teacher_context_length`), `temperature` and `top_p`."
    )


def failure(err: Exception, settings: TeacherSettings) -> str:
    """A request that failed after its retries, with the URL it went to."""
    import openai

    url = request_url(err) or endpoint_name(settings.base_url)
    if isinstance(err, openai.APITimeoutError):
        return f"no answer from {url} within {settings.request_timeout:g} s"
    if isinstance(err, openai.APIConnectionError):
        return f"cannot reach {url} ({detail(err.__cause__ or err)})"
    if isinstance(err, openai.APIStatusError):
        return f"{url} answered {err.status_code}: {server_message(err)}"
    return f"{type(err).__name__}: {err}"


def make_client(settings: TeacherSettings, sync: bool = False):
    """The `openai` client for the teacher endpoint (`openai.AsyncOpenAI`, or `openai.OpenAI` when `sync`)."""
    import openai

    key = api_key(settings.base_url)
    if key is None:  # requests would go to the OpenAI API
        raise TeacherError(
            f"{endpoint_name(settings.base_url)} needs OPENAI_API_KEY, which is not set (nothing was sent). Or set "
            "`teacher_base_url` (or OPENAI_BASE_URL) for an OpenAI-compatible server, or `local_teacher: true` for "
            "the offline toy teacher."
        )
    client_class = openai.OpenAI if sync else openai.AsyncOpenAI
    return client_class(
        api_key=key, base_url=settings.base_url, max_retries=settings.max_retries, timeout=settings.request_timeout
    )


class OpenAITeacher(TeacherBackend):
    def _client(self):
        return make_client(self.settings)

    async def _one(self, client, request: Request) -> dict:

        s = self.settings
        body = request.body(s.model, s.temperature, s.top_p)
        attempts = 0
        for payload_try in range(s.max_retries + 1):
            started = time.monotonic()
            try:
                # `client.post` is the client's documented route for raw requests: it sends `body` as built (the
                # typed `chat.completions.create` re-validates every message, ~2.5 ms of CPU a request) with the
                # same retries; the raw-response header (what `.with_raw_response` sets) returns the unparsed
                # response with `retries_taken`.
                raw = await client.post(
                    "/chat/completions", body=body, cast_to=object, options={"headers": RAW_RESPONSE}
                )
            except fatal_errors() as err:
                raise TeacherError(fatal_message(err, s.base_url, s.model)) from err
            attempts += 1 + raw.retries_taken
            try:
                completion = json.loads(raw.text)
                if not isinstance(completion, dict) or not completion.get("choices"):
                    raise BadPayload(f"no choices in {raw.text[:200]!r}")
                return completion_row(request.raw_index, completion, time.monotonic() - started, attempts)
            except (json.JSONDecodeError, BadPayload, KeyError, TypeError, IndexError) as err:
                if payload_try == s.max_retries:
                    raise BadPayload(
                        f"row {request.raw_index}: unusable answer after {attempts} attempts: {err}"
                    ) from err
                delay = min(INITIAL_RETRY_DELAY * 2**payload_try, MAX_RETRY_DELAY) * (1 - 0.25 * random.random())
                logger.debug("row %d: unusable answer (%s); retrying in %.1fs", request.raw_index, err, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def run(self, requests: Iterable[Request], total: int, journal, accounting: Accounting, progress) -> None:
        asyncio.run(self._run(requests, total, journal, accounting, progress))

    async def _run(self, requests, total, journal, accounting, progress) -> None:
        import openai

        retryable = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError, openai.APIStatusError)
        client = self._client()
        queue = iter(requests)
        failed: list[str] = []
        consecutive = 0
        breaker = max(8, self.settings.concurrency)

        async def worker():
            nonlocal consecutive
            for request in queue:
                try:
                    row = await self._one(client, request)
                except (BadPayload, *retryable) as err:
                    failed.append(f"row {request.raw_index}: {failure(err, self.settings)}")
                    consecutive += 1
                    if consecutive >= breaker:
                        raise TeacherError(
                            f"{consecutive} requests in a row failed after {self.settings.max_retries} retries each; "
                            f"the teacher looks down. Last: {failed[-1]}. Stored answers are kept: rerun to resume."
                        ) from err
                    continue
                consecutive = 0
                journal.append(row)
                accounting.add(row)
                progress.set_postfix(accounting.postfix(), refresh=False)  # shown by the update below
                progress.update(1)

        try:
            async with client, asyncio.TaskGroup() as group:
                for _ in range(min(self.settings.concurrency, max(total, 1))):
                    group.create_task(worker())
        except* TeacherError as errors:
            raise errors.exceptions[0] from None
        if failed:
            shown = "\n  ".join(failed[:5])
            raise TeacherError(
                f"{len(failed)} requests failed after {self.settings.max_retries} retries each "
                f"(first:\n  {shown}\n). "
                "Every answered row is stored: rerun the same command to retry only these."
            )

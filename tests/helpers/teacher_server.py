"""A scriptable OpenAI-compatible chat-completions server on loopback, for fault-injection tests and benchmarks.

It speaks plain HTTP/1.1 (keep-alive, Content-Length) over asyncio streams, so it can do what a framework would
hide: reset a connection mid-request, answer with broken JSON, or stall past the client's timeout. Like a real server
it closes the connection after the answer when the request says `Connection: close` (or is HTTP/1.0 without
keep-alive). Answers are a deterministic function of the request, so two runs over the same seeds give identical
rows.

Faults are scripted per row (the row is `seed - seed_base`, the API seed the builder sends): `faults[row]` is the
list of faults for that row's first attempts, e.g. ["429", "reset"] makes attempt 1 a 429, attempt 2 a reset and
attempt 3 a normal answer. Kinds: 400 401 403 404 429 500 503 slow reset malformed empty.

Besides /v1/chat/completions it answers /v1/completions (the same answer, from the prompt text, as a `text` choice)
and keeps every request body in `bodies`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import socket
import struct
import threading
import time
from collections import Counter, defaultdict


def answer_for(messages: list[dict], seed: int | None) -> str:
    code = messages[-1]["content"]
    digest = hashlib.sha256(f"{seed}:{code}".encode()).hexdigest()[:12]
    return (
        f"[Problem Description]\nWrite a function `f_{digest}` that returns the number {seed}.\n\n"
        f"[Solution]\n```python\ndef f_{digest}():\n    return {seed}\n```"
    )


class TeacherServer:
    def __init__(
        self,
        faults: dict[int, list[str]] | None = None,
        latency: tuple[float, float] = (0.0, 0.0),
        seed_base: int = 976,
        slow_seconds: float = 5.0,
        retry_after: float = 0.05,
        model: str = "fake-teacher",
        listed: tuple[str, ...] = ("gpt-3.5-turbo-1106",),
        answer=None,
    ):
        self.faults = faults or {}
        self.latency = latency
        self.seed_base = seed_base
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.model = model
        self.listed = listed  # what /v1/models lists besides `model` (the tests' default teacher_model)
        # (messages, seed) -> content or (content, finish_reason) of a chat answer; default: `answer_for`, "stop"
        self.answer = answer
        self.attempts: Counter = Counter()  # row -> requests received
        self.answered: Counter = Counter()  # row -> 200 answers with a usable completion
        self.events: list[str] = []
        self.bodies: list[dict] = []  # every chat/completions request body, as received
        self.in_flight = 0
        self.max_in_flight = 0
        self._busy_integral = 0.0  # integral of in_flight over time
        self._last_change = None
        self._first = None
        self._last = None
        self._loop = None
        self._server = None
        self._thread = None
        self._closing: set[asyncio.StreamWriter] = set()  # connections to close after their current answer
        self.port = None

    # --- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> TeacherServer:
        ready = threading.Event()

        def serve():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown():
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop = None

    def __enter__(self) -> TeacherServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- measurements ------------------------------------------------------------------------------------------

    def _track(self, delta: int) -> None:
        now = time.monotonic()
        if self._first is None:
            self._first = now
        if self._last_change is not None:
            self._busy_integral += self.in_flight * (now - self._last_change)
        self._last_change = now
        self._last = now
        self.in_flight += delta
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def mean_in_flight(self) -> float:
        """Time-averaged number of requests in flight from the first request to the last answer."""
        span = (self._last or 0) - (self._first or 0)
        return self._busy_integral / span if span > 0 else 0.0

    def span_seconds(self) -> float:
        return (self._last or 0) - (self._first or 0)

    # --- HTTP --------------------------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, version = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in lines[1:] if ":" in h)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
                close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
                if close:
                    self._closing.add(writer)
                keep = await self._route(method, path, body, writer)
                if not keep or close:
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            return  # client went away, or the server is stopping
        finally:
            self._closing.discard(writer)
            if not writer.is_closing():
                writer.close()

    async def _send(self, writer, status: int, payload, headers: dict | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}
        head = [f"HTTP/1.1 {status} {reason.get(status, 'Error')}", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if writer in self._closing:
            head.append("Connection: close")
        head += [f"Content-Length: {len(data)}", "", ""]
        writer.write("\r\n".join(head).encode() + data)
        await writer.drain()

    async def _route(self, method: str, path: str, body: bytes, writer) -> bool:
        if method == "GET" and path.endswith("/models"):
            names = dict.fromkeys((self.model, *self.listed))
            await self._send(writer, 200, {"object": "list", "data": [{"id": n, "object": "model"} for n in names]})
            return True
        if method != "POST" or not path.endswith("/completions"):  # /chat/completions or /completions
            await self._send(writer, 404, {"error": {"message": f"no route {method} {path}"}})
            return True
        request = json.loads(body)
        self.bodies.append(request)
        seed = request.get("seed")
        row = (seed - self.seed_base) if isinstance(seed, int) else -1
        self.attempts[row] += 1
        attempt = self.attempts[row]
        plan = self.faults.get(row, [])
        fault = plan[attempt - 1] if attempt <= len(plan) else None
        self.events.append(f"{row}:{fault or 'ok'}")
        self._track(+1)
        try:
            return await self._respond(request, row, fault, writer)
        finally:
            self._track(-1)

    async def _respond(self, request: dict, row: int, fault: str | None, writer) -> bool:
        error = {"error": {"message": f"injected {fault}", "type": "injected", "code": fault}}
        if fault in ("400", "401", "403", "404", "500", "503"):
            headers = {"Retry-After": str(self.retry_after)} if fault == "503" else {}
            await self._send(writer, int(fault), error, headers)
            return True
        if fault == "429":
            await self._send(writer, 429, error, {"Retry-After": str(self.retry_after)})
            return True
        if fault == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        lo, hi = self.latency
        if hi > 0:
            await asyncio.sleep(random.Random(f"{row}:{self.attempts[row]}").uniform(lo, hi))
        if fault == "malformed":
            await self._send(writer, 200, b'{"id": "x", "choices": [{"index": 0, "mess')
            return True
        if fault == "empty":
            await self._send(writer, 200, {"id": "x", "object": "chat.completion", "model": self.model, "choices": []})
            return True
        if "messages" not in request:  # /v1/completions
            await self._send(writer, 200, self._text_completion(request, row))
            return True
        content, finish_reason = answer_for(request["messages"], request.get("seed")), "stop"
        if self.answer is not None:
            content = self.answer(request["messages"], request.get("seed"))
            if isinstance(content, tuple):
                content, finish_reason = content
        prompt_tokens = sum(len(m["content"]) for m in request["messages"]) // 4
        completion_tokens = min(len(content) // 4, request.get("max_tokens") or 10**9)
        self.answered[row] += 1
        await self._send(
            writer,
            200,
            {
                "id": f"chatcmpl-{row}",
                "object": "chat.completion",
                "created": 0,
                "model": request.get("model", self.model),
                "system_fingerprint": "fp_fake",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )
        return True

    def _text_completion(self, request: dict, row: int) -> dict:
        prompt = request.get("prompt") or ""
        content = answer_for([{"content": prompt}], request.get("seed"))
        self.answered[row] += 1
        prompt_tokens, completion_tokens = len(prompt) // 4, min(len(content) // 4, request.get("max_tokens") or 10**9)
        return {
            "id": f"cmpl-{row}",
            "object": "text_completion",
            "created": 0,
            "model": request.get("model", self.model),
            "choices": [{"index": 0, "text": content, "finish_reason": "stop", "logprobs": None}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def per_row_events(server: TeacherServer) -> dict[int, list[str]]:
    out = defaultdict(list)
    for event in server.events:
        row, kind = event.split(":")
        out[int(row)].append(kind)
    return dict(out)

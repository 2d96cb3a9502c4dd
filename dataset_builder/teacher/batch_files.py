"""Batch files, both ways: requests written as Batch input JSONL (what the Batch API and vLLM's offline runner
read), and the answers of a Batch results JSONL (from OpenAI, or from vLLM's `run_batch`) journaled.

An input line is `{"custom_id": "row-<raw_index>", "method": "POST", "url": "/v1/chat/completions", "body": {...}}`;
at most `batch_max_requests` lines and 190 MB a file. `batch.py` submits and polls them through the API.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from dataset_builder.teacher.base import CUSTOM_ID_PREFIX, Accounting, Request, TeacherError, completion_row

logger = logging.getLogger(__name__)

ENDPOINT = "/v1/chat/completions"
MAX_FILE_BYTES = 190 * 1024 * 1024  # the Batch API takes input files up to 200 MB


def custom_id(raw_index: int, prefix: str = CUSTOM_ID_PREFIX) -> str:
    return f"{prefix}{raw_index}"


def raw_index_of(cid, prefix: str = CUSTOM_ID_PREFIX) -> int:
    if not isinstance(cid, str) or not cid.startswith(prefix) or not cid[len(prefix) :].isdigit():
        raise TeacherError(
            f"custom_id {cid!r} is not one of this builder's ('{prefix}<raw_index>'): wrong results file?"
        )
    return int(cid[len(prefix) :])


def first_custom_id(path) -> str | None:
    """The custom_id of a JSONL file's first line (None when it has none): which stage's requests the file holds."""
    with open(path, encoding="utf-8") as f:
        for text in f:
            if text.strip():
                try:
                    line = json.loads(text)
                except json.JSONDecodeError:
                    return None
                return line.get("custom_id") if isinstance(line, dict) else None
    return None


# --- input files (export) ---------------------------------------------------------------------------------------


def write_input_files(
    requests: list[Request], folder: Path, first: int, body_args: tuple, max_lines: int, prefix: str = CUSTOM_ID_PREFIX
) -> dict[str, int]:
    """Write requests as Batch input files `input-<n>.jsonl` from n = first; returns {file name: lines}."""
    names: dict[str, int] = {}
    lines: list[bytes] = []
    size = 0

    def flush():
        nonlocal lines, size
        name = f"input-{first + len(names):05d}.jsonl"
        tmp = folder / (name + ".tmp")
        with open(tmp, "wb") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / name)
        names[name] = len(lines)
        lines, size = [], 0

    for request in requests:
        line = {"custom_id": custom_id(request.raw_index, prefix), "method": "POST", "url": ENDPOINT}
        line["body"] = request.body(*body_args)
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
        if lines and (len(lines) >= max_lines or size + len(data) > MAX_FILE_BYTES):
            flush()
        lines.append(data)
        size += len(data)
    if lines:
        flush()
    return names


def rows_in(path: Path, prefix: str = CUSTOM_ID_PREFIX) -> set[int]:
    with open(path, encoding="utf-8") as f:
        return {raw_index_of(json.loads(line)["custom_id"], prefix) for line in f if line.strip()}


# --- results files (import) -------------------------------------------------------------------------------------


@dataclass
class Ingested:
    ok: int = 0
    failed: int = 0
    examples: list[str] = field(default_factory=list)  # the first few failures, for the error message

    def fail(self, what: str) -> None:
        self.failed += 1
        if len(self.examples) < 5:
            self.examples.append(what)


def _line_error(line: dict) -> str | None:
    """Why a results line holds no usable answer, or None when it does."""
    error = line.get("error")
    if error:  # OpenAI: {"code", "message"}; vLLM: a string or an ErrorResponse ({"error": {...}} or flat)
        if isinstance(error, dict):
            error = error.get("error", error)
        return f"{error.get('code')}: {error.get('message')}" if isinstance(error, dict) else str(error)
    response = line.get("response")
    if not isinstance(response, dict):
        return "no response"
    status = response.get("status_code")
    body = response.get("body")
    if status != 200:
        message = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(message, dict):
            message = message.get("message", message)
        return f"HTTP {status}: {message}"
    if not isinstance(body, dict) or not body.get("choices"):
        return "no choices in the response body"
    return None


def ingest(path: Path, journal, accounting: Accounting, progress, prefix: str = CUSTOM_ID_PREFIX) -> Ingested:
    """Journal the answered lines of a results file (each row once); count the failed ones."""
    result = Ingested()
    with open(path, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError as err:
                logger.warning("%s:%d: not JSON (%s); its row stays unanswered", path, number, err)
                result.fail(f"{path.name}:{number}: not JSON")
                continue
            index = raw_index_of(line.get("custom_id"), prefix)
            error = _line_error(line)
            if error is not None:
                result.fail(f"row {index}: {error}")
                continue
            result.ok += 1
            if index in journal.done:
                continue  # collected before (a resumed collection, or the same file ingested twice)
            row = completion_row(index, line["response"]["body"], latency_s=None, attempts=1)
            journal.append(row)
            accounting.add(row)
            progress.update(1)
    progress.set_postfix(accounting.postfix(), refresh=False)
    return result


def collect_results_file(
    path, journal, accounting: Accounting, progress, prefix: str = CUSTOM_ID_PREFIX
) -> tuple[int, int]:
    """Journal the answers in a Batch results JSONL (from OpenAI, or from vLLM's `run_batch`); (answered, failed).

    Rows already in the journal are not counted twice, so ingesting a file again is harmless.
    """
    result = ingest(Path(path), journal, accounting, progress, prefix)
    if result.failed:
        logger.warning("%s: %d lines failed (first: %s)", path, result.failed, "; ".join(result.examples))
    return result.ok, result.failed

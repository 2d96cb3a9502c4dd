"""The OpenAI Batch API: half the price of live requests, answers within `batch_completion_window` (24 h).

Pending requests are written as Batch input JSONL under `<run>/batch/` (`input-00000.jsonl`, ...; at most
`batch_max_requests` lines and 190 MB each), one line per request:

    {"custom_id": "row-<raw_index>", "method": "POST", "url": "/v1/chat/completions", "body": {...}}

which is also what vLLM's offline runner reads (`python -m vllm.entrypoints.openai.run_batch -i FILE -o OUT
--model M`); `batch_files.collect_results_file` ingests its output, or an output file downloaded from OpenAI. The
files, both ways, are `batch_files.py`; this module submits and polls them.

Each file is uploaded, a batch is created from it, and all batches are polled every `batch_poll_interval` seconds.
When a batch ends its output (and error) file is downloaded next to the input and every answered line is journaled.
`batch/state.json` (written atomically after every step) records each input file's uploaded file id, batch id and
status, so a rerun after a crash resumes polling the batches that exist instead of paying for them twice. Lines that
failed, and the rows of batches that ended `failed`, `expired` or `cancelled`, are not journaled: the run ends with a
`TeacherError` that counts them, and the next run submits only those rows.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from dataset_builder.config_base import redact_url
from dataset_builder.runs import write_json_atomic
from dataset_builder.teacher.base import Accounting, Request, TeacherBackend, TeacherError
from dataset_builder.teacher.batch_files import ENDPOINT, ingest, rows_in, write_input_files
from dataset_builder.teacher.openai_api import fatal_errors, fatal_message, make_client

logger = logging.getLogger(__name__)

STATE_VERSION = 1
ENDED = {"completed", "failed", "expired", "cancelled"}
RECENT_BATCHES = 100  # how far back a resumed run looks for a batch created just before a crash
MAX_POLL_FAILURES = 10  # polls in a row that may fail (after the client's own retries) before the run stops


class Unreachable(TeacherError):
    """The API could not be reached or kept failing after retries; batches on the server are unaffected."""


class BatchTeacher(TeacherBackend):
    @property
    def folder(self) -> Path:
        return self.run_dir.path / "batch"

    # --- state ----------------------------------------------------------------------------------------------

    def _load_state(self) -> dict:
        path = self.folder / "state.json"
        if not path.exists():
            return {"version": STATE_VERSION, "files": {}}
        state = json.loads(path.read_text())
        if state.get("version") != STATE_VERSION:
            raise TeacherError(f"{path} has state version {state.get('version')}, not {STATE_VERSION}: move it away.")
        return state

    def _save(self, state: dict) -> None:
        state["base_url"] = redact_url(self.settings.base_url)
        write_json_atomic(self.folder / "state.json", state)

    # --- API calls --------------------------------------------------------------------------------------------

    def _call(self, what: str, fn, *args, **kwargs):
        """One API call; errors that a rerun cannot fix, or that the client's retries did not, end the run."""
        import openai

        try:
            return fn(*args, **kwargs)
        except fatal_errors() as err:
            message = fatal_message(err, self.settings.base_url, self.settings.model)
            if isinstance(err, openai.NotFoundError):
                message += (
                    " The Batch API also needs /v1/files and /v1/batches, which vLLM's server does not have: for "
                    "vLLM, run `python -m vllm.entrypoints.openai.run_batch` on the input files in "
                    f"{self.folder} and ingest its output with `collect_results_file`."
                )
            raise TeacherError(f"{what}: {message}") from err
        except (openai.APIConnectionError, openai.APITimeoutError, openai.APIStatusError) as err:
            raise Unreachable(
                f"{what}: {type(err).__name__}: {err} (after {self.settings.max_retries} retries). Batches already "
                "created keep running on the server: rerun the same command to resume them "
                f"({self.folder / 'state.json'})."
            ) from err

    def _find_batch(self, client, file_id: str):
        """A batch created from `file_id` just before a crash lost its id, if any, among the most recent batches."""
        page = self._call("list batches", client.batches.list, limit=RECENT_BATCHES)
        return next((batch for batch in page.data if batch.input_file_id == file_id), None)

    def _submit(self, client, state: dict, name: str) -> None:
        entry = state["files"][name]
        if not entry.get("file_id"):
            path = self.folder / name
            with open(path, "rb") as f:
                upload = self._call(
                    f"upload {name}",
                    client.files.create,
                    file=(f"oss-instruct-{self.run_dir.fingerprint}-{name}", f),
                    purpose="batch",
                )
            entry.update(file_id=upload.id, status="uploaded")
            self._save(state)
        batch = self._call(
            f"create the batch of {name}",
            client.batches.create,
            input_file_id=entry["file_id"],
            endpoint=ENDPOINT,
            completion_window=self.settings.batch_completion_window,
            metadata={"oss_instruct_run": self.run_dir.fingerprint, "input": name},
        )
        self._record(state, name, batch)
        logger.info("batch %s: %s (%d requests) submitted", batch.id, name, entry["rows"])

    def _record(self, state: dict, name: str, batch) -> None:
        entry = state["files"][name]
        counts = batch.request_counts
        entry.update(
            batch_id=batch.id,
            status=batch.status,
            output_file_id=batch.output_file_id,
            error_file_id=batch.error_file_id,
            counts=counts.to_dict() if counts else None,
            errors=[e.message or e.code for e in (batch.errors.data or [])] if batch.errors else [],
        )
        self._save(state)

    def _download(self, client, file_id: str, target: Path) -> Path:
        content = self._call(f"download {file_id}", client.files.content, file_id)
        tmp = target.with_name(target.name + ".tmp")
        content.write_to_file(tmp)
        os.replace(tmp, target)
        return target

    def _collect(self, client, state: dict, name: str, journal, accounting, progress) -> list[str]:
        """Journal what an ended batch answered (an expired or cancelled one may have answered part)."""
        entry = state["files"][name]
        reasons = []
        if entry["status"] != "completed":
            why = "; ".join(entry.get("errors") or []) or "no reason given"
            reasons.append(f"batch {entry['batch_id']} ({name}) ended {entry['status']}: {why}")
        answered = failed = 0
        stem = name.removeprefix("input-")
        for key, prefix in (("output_file_id", "output"), ("error_file_id", "errors")):
            if entry.get(key):
                path = self._download(client, entry[key], self.folder / f"{prefix}-{stem}")
                part = ingest(path, journal, accounting, progress, self.settings.custom_id_prefix)
                answered, failed, reasons = answered + part.ok, failed + part.failed, reasons + part.examples
        entry.update(collected=True, answered=answered, failed=failed)
        self._save(state)
        logger.info(
            "batch %s: %s %s, %d answers stored, %d failed", entry["batch_id"], name, entry["status"], answered, failed
        )
        return reasons

    # --- run --------------------------------------------------------------------------------------------------

    def run(self, requests: Iterable[Request], total: int, journal, accounting: Accounting, progress) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        pending = {request.raw_index: request for request in requests}
        state = self._load_state()
        client = make_client(self.settings, sync=True)
        with client:
            waiting = self._resume(client, state, pending)
            prefix = self.settings.custom_id_prefix
            in_flight = set().union(*(rows_in(self.folder / name, prefix) for name in waiting)) if waiting else set()
            new = [request for index, request in pending.items() if index not in in_flight]
            if new:
                first = 1 + max((int(n[len("input-") : -len(".jsonl")]) for n in state["files"]), default=-1)
                s = self.settings
                written = write_input_files(
                    new, self.folder, first, (s.model, s.temperature, s.top_p), s.batch_max_requests, prefix
                )
                for name, rows in written.items():
                    state["files"][name] = {"rows": rows, "status": "written"}
                self._save(state)
                for name in written:
                    self._submit(client, state, name)
                    waiting.append(name)
            failures = self._wait(client, state, waiting, journal, accounting, progress)
        missing = sorted(set(pending) - journal.done)
        if missing:
            shown = "\n  ".join(failures[:6]) or "none reported"
            raise TeacherError(
                f"{len(missing)} of {len(pending)} batch requests got no answer (first reasons:\n  {shown}\n). "
                f"Every answered row is stored: rerun the same command to resubmit only these {len(missing)}."
            )

    def _resume(self, client, state: dict, pending: dict[int, Request]) -> list[str]:
        """Input files whose batch exists and has not been collected; forget files that never became a batch."""
        waiting = []
        for name, entry in list(state["files"].items()):
            if entry.get("collected"):
                continue
            if not entry.get("batch_id") and entry.get("file_id"):
                batch = self._find_batch(client, entry["file_id"])
                if batch is not None:
                    logger.info("batch %s: found the batch of %s created before the crash", batch.id, name)
                    self._record(state, name, batch)
                elif rows_in(self.folder / name, self.settings.custom_id_prefix) <= set(pending):
                    self._submit(client, state, name)
            if entry.get("batch_id"):
                logger.info("batch %s: resuming %s (%s)", entry["batch_id"], name, entry["status"])
                waiting.append(name)
                continue
            logger.info("%s was never submitted: its rows are written again", name)
            (self.folder / name).unlink(missing_ok=True)
            del state["files"][name]
            self._save(state)
        return waiting

    def _wait(self, client, state: dict, waiting: list[str], journal, accounting, progress) -> list[str]:
        """Poll until every waiting batch has ended, collecting each as it does; returns failure reasons."""
        failures: list[str] = []
        failed_polls = 0
        waiting = list(waiting)
        while waiting:
            for name in list(waiting):
                entry = state["files"][name]
                if entry["status"] not in ENDED:
                    try:
                        batch = self._call(
                            f"poll batch {entry['batch_id']}", client.batches.retrieve, entry["batch_id"]
                        )
                    except Unreachable as err:
                        failed_polls += 1
                        if failed_polls >= MAX_POLL_FAILURES:
                            raise
                        logger.warning("%s; polling again in %g s", err, self.settings.batch_poll_interval)
                        break
                    failed_polls = 0
                    if batch.status != entry["status"]:
                        logger.info("batch %s: %s", batch.id, batch.status)
                    self._record(state, name, batch)
                if entry["status"] in ENDED:
                    failures += self._collect(client, state, name, journal, accounting, progress)
                    waiting.remove(name)
            self._show(state, waiting, accounting, progress)
            if waiting:
                time.sleep(self.settings.batch_poll_interval)
        return failures

    def _show(self, state: dict, waiting: list[str], accounting: Accounting, progress) -> None:
        statuses = Counter(state["files"][name]["status"] for name in waiting)
        counts = Counter()
        for name in waiting:
            counts.update(state["files"][name].get("counts") or {})
        postfix = accounting.postfix()
        if waiting:
            postfix["batches"] = " ".join(f"{status}:{n}" for status, n in sorted(statuses.items()))
            postfix["batch_done"] = f"{counts['completed']}/{counts['total']}"
            postfix["batch_failed"] = counts["failed"]
        progress.set_postfix(postfix, refresh=True)

"""The `openai_batch` teacher backend against a loopback stand-in of the Files and Batches API (no network).

The stand-in (`helpers/batch_server.py`) runs each batch line through a real chat-completions server
(`helpers/teacher_server.py`), so a batch run must produce exactly the dataset a live run produces.
"""

import io
import json
import urllib.request
from pathlib import Path

import pytest

from dataset_builder.cli import main, parse_config
from dataset_builder.pipeline import run_stage
from dataset_builder.teacher.base import Accounting, Request
from dataset_builder.teacher.batch_files import collect_results_file, write_input_files
from dataset_builder.teacher.pricing import Prices
from oss_common.journal import Journal
from tests.conftest import write_corpus
from tests.helpers.batch_server import BatchServer
from tests.helpers.teacher_server import TeacherServer, answer_for

ROWS = 10
pytestmark = pytest.mark.usefixtures("api_env")


def _argv(corpus: Path, out: Path, backend: str, base_url: str, *extra: str) -> list[str]:
    return [
        "--corpus",
        str(corpus),
        "--languages",
        f"{{python: {ROWS}}}",
        "--output_dir",
        str(out),
        "--teacher_backend",
        backend,
        "--teacher_base_url",
        base_url,
        "--teacher_model",
        "fake-teacher",
        "--batch_poll_interval",
        "0.05",
        *extra,
    ]


def _parsed(argv: list[str]) -> list[tuple]:
    dataset = run_stage("parse", parse_config(argv)).load()
    return sorted(zip(dataset["raw_index"], dataset["problem"], dataset["solution"], strict=True))


def _journal_rows(out: Path) -> set[int]:
    (path,) = out.glob("generate/*/responses.jsonl")
    return {json.loads(line)["raw_index"] for line in path.read_text().splitlines()}


def _batch_folder(out: Path) -> Path:
    (path,) = out.glob("generate/*/batch")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"), n_python=ROWS, extra=False)


@pytest.fixture(scope="module")
def live_rows(corpus, tmp_path_factory) -> list[tuple]:
    """The parsed dataset of a live `openai` run: what every batch run must reproduce."""
    out = tmp_path_factory.mktemp("live")
    with TeacherServer() as teacher, pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", "sk-test")
        mp.delenv("OPENAI_BASE_URL", raising=False)
        argv = _argv(corpus, out, "openai", teacher.base_url)
        assert main(["parse", *argv]) == 0
        rows = _parsed(argv)
    assert len(rows) == ROWS
    return rows


def test_batch_run_matches_live_run_and_writes_documented_lines(corpus, live_rows, teacher, tmp_path):
    out = tmp_path / "out"
    with BatchServer(teacher.base_url, polls_to_complete=3) as batches:
        argv = _argv(corpus, out, "openai_batch", batches.base_url, "--batch_max_requests", "4")
        assert main(["parse", *argv]) == 0
        assert _parsed(argv) == live_rows
        assert len(batches.uploads) == len(batches.created) == 3  # 4 + 4 + 2 lines
        assert all(batches.polls[b] == 3 for b in batches.created)
    assert sorted(teacher.answered) == list(range(ROWS)) and set(teacher.answered.values()) == {1}

    folder = _batch_folder(out)
    inputs = sorted(folder.glob("input-*.jsonl"))
    assert [p.name for p in inputs] == ["input-00000.jsonl", "input-00001.jsonl", "input-00002.jsonl"]
    lines = [json.loads(text) for p in inputs for text in p.read_text().splitlines()]
    assert [len(p.read_text().splitlines()) for p in inputs] == [4, 4, 2]
    seen = set()
    for line in lines:
        assert set(line) == {"custom_id", "method", "url", "body"}
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        index = int(line["custom_id"].removeprefix("row-"))
        seen.add(index)
        body = line["body"]
        assert set(body) == {"model", "messages", "temperature", "max_tokens", "seed"}
        assert body["model"] == "fake-teacher" and body["temperature"] == 0.0 and body["max_tokens"] == 2500
        assert body["seed"] == 976 + index
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert seen == set(range(ROWS))

    state = json.loads((folder / "state.json").read_text())
    assert {entry["status"] for entry in state["files"].values()} == {"completed"}
    assert all(entry["collected"] and entry["file_id"] and entry["batch_id"] for entry in state["files"].values())


def test_crash_after_submission_resumes_the_same_batch(corpus, live_rows, teacher, tmp_path, capsys):
    out = tmp_path / "out"
    with BatchServer(teacher.base_url, polls_to_complete=3, outage_after_create=True) as batches:
        argv = _argv(corpus, out, "openai_batch", batches.base_url, "--max_retries", "0")
        assert main(["parse", *argv]) == 2  # every poll after the batch was created got a 503
        assert "rerun the same command to resume" in capsys.readouterr().err
        state = json.loads((_batch_folder(out) / "state.json").read_text())
        (entry,) = state["files"].values()
        assert entry["batch_id"] == batches.created[0] and not entry.get("collected")

        batches.outage = False
        assert main(["parse", *argv]) == 0  # polls the existing batch: in_progress, then completed
        assert _parsed(argv) == live_rows
        assert len(batches.uploads) == 1 and len(batches.created) == 1
        assert batches.polls[batches.created[0]] == 3


def test_batch_created_but_not_recorded_is_found_and_collected(corpus, live_rows, teacher, tmp_path):
    """A crash between `batches.create` and saving its id: the rerun finds the batch by its input file."""
    out = tmp_path / "out"
    with BatchServer(teacher.base_url, polls_to_complete=1, outage_after_create=True) as batches:
        argv = _argv(corpus, out, "openai_batch", batches.base_url, "--max_retries", "0")
        assert main(["parse", *argv]) == 2
        state_path = _batch_folder(out) / "state.json"
        state = json.loads(state_path.read_text())
        (entry,) = state["files"].values()
        for key in ("batch_id", "output_file_id", "error_file_id", "counts", "errors"):
            entry.pop(key, None)
        entry["status"] = "uploaded"
        state_path.write_text(json.dumps(state))

        batches.outage = False
        with urllib.request.urlopen(f"{batches.base_url}/batches/{batches.created[0]}") as response:
            assert json.loads(response.read())["status"] == "completed"  # it finished while nobody watched
        assert main(["parse", *argv]) == 0
        assert _parsed(argv) == live_rows
        assert len(batches.uploads) == 1 and len(batches.created) == 1
        assert batches.polls[batches.created[0]] == 1  # found already completed by the list: collected at once


def test_failed_lines_are_not_journaled_and_only_they_are_resubmitted(corpus, live_rows, teacher, tmp_path, capsys):
    out = tmp_path / "out"
    failures = {2: "error", 5: "500", 7: "dropped"}
    with BatchServer(teacher.base_url, polls_to_complete=1, failures=failures) as batches:
        argv = _argv(corpus, out, "openai_batch", batches.base_url)
        assert main(["parse", *argv]) == 2
        err = capsys.readouterr().err
        assert "3 of 10 batch requests got no answer" in err and "resubmit only these 3" in err
        assert "HTTP 400" in err and "HTTP 500" in err and "server_error" in err
        assert _journal_rows(out) == set(range(ROWS)) - set(failures)

        assert main(["parse", *argv]) == 0
        assert batches.submitted == [list(range(ROWS)), sorted(failures)]
        assert len(batches.uploads) == 2
        assert _parsed(argv) == live_rows
    folder = _batch_folder(out)
    assert sorted(p.name for p in folder.glob("errors-*.jsonl")) == ["errors-00000.jsonl"]
    assert sorted(p.name for p in folder.glob("input-*.jsonl")) == ["input-00000.jsonl", "input-00001.jsonl"]


def test_expired_batch_keeps_its_partial_output(corpus, live_rows, teacher, tmp_path, capsys):
    out = tmp_path / "out"
    with BatchServer(teacher.base_url, polls_to_complete=1, expire={0: 4}) as batches:
        argv = _argv(corpus, out, "openai_batch", batches.base_url)
        assert main(["parse", *argv]) == 2
        err = capsys.readouterr().err
        assert "ended expired" in err and "6 of 10" in err
        answered = _journal_rows(out)
        assert len(answered) == 4

        assert main(["parse", *argv]) == 0
        assert batches.submitted[1] == sorted(set(range(ROWS)) - answered)
        assert _parsed(argv) == live_rows


def test_bad_key_stops_with_a_clear_message(corpus, teacher, tmp_path, capsys):
    with BatchServer(teacher.base_url, api_key="sk-right") as batches:
        argv = _argv(corpus, tmp_path / "out", "openai_batch", batches.base_url)
        assert main(["parse", *argv]) == 2
        assert batches.uploads == []
    err = capsys.readouterr().err
    assert "rejected the API key (401" in err and "OPENAI_API_KEY" in err


def _run_like_vllm(input_path: Path, output_path: Path, teacher, fail: frozenset = frozenset()) -> None:
    """What `python -m vllm.entrypoints.openai.run_batch -i INPUT -o OUTPUT` does, with `teacher` as the model."""
    results = []
    for text in input_path.read_text().splitlines():
        line = json.loads(text)
        request_id = f"vllm-batch-{line['custom_id']}"
        if line["custom_id"] in fail:  # vLLM's make_error_request_output
            response = {"status_code": 400, "request_id": request_id, "body": None}
            results.append({"id": request_id, "custom_id": line["custom_id"], "response": response, "error": "bad"})
            continue
        http = urllib.request.Request(
            f"{teacher.base_url}/chat/completions",
            data=json.dumps(line["body"]).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(http) as answer:
            body = json.loads(answer.read())
        response = {"status_code": 200, "request_id": request_id, "body": body}
        results.append({"id": request_id, "custom_id": line["custom_id"], "response": response, "error": None})
    output_path.write_text("".join(json.dumps(r) + "\n" for r in results))


def test_collect_results_file_ingests_vllm_output(teacher, tmp_path):
    """Input files written by the backend, run the way vLLM's `run_batch` does, and its output ingested."""
    from tqdm.auto import tqdm

    requests = [
        Request(i, [{"role": "user", "content": f"print({i})"}], seed=976 + i, max_tokens=64) for i in range(4)
    ]
    (name,) = write_input_files(requests, tmp_path, 0, ("fake-teacher", 0.0, None), max_lines=100)
    output = tmp_path / "results.jsonl"
    _run_like_vllm(tmp_path / name, output, teacher, fail=frozenset({"row-3"}))

    accounting = Accounting(Prices(None, None, None, batch=True))
    with Journal(tmp_path / "responses.jsonl") as journal, tqdm(total=4, file=io.StringIO()) as progress:
        assert collect_results_file(output, journal, accounting, progress) == (3, 1)
        assert collect_results_file(output, journal, accounting, progress) == (3, 1)  # harmless twice
        assert progress.n == 3
    assert accounting.rows == 3
    rows = {row["raw_index"]: row for row in journal.rows()}
    assert sorted(rows) == [0, 1, 2]
    for i, row in rows.items():
        assert row["response"] == answer_for(requests[i].messages, 976 + i)
        assert row["finish_reason"] == "stop" and row["attempts"] == 1 and row["latency_s"] is None
        assert row["teacher_model"] == "fake-teacher" and row["completion_tokens"] > 0


def test_offline_vllm_flow_export_run_batch_ingest(corpus, live_rows, teacher, tmp_path, capsys):
    """--batch_write_only exports the requests; vLLM's run_batch answers them; --batch_results_files ingests."""
    out = tmp_path / "out"
    argv = _argv(corpus, out, "openai_batch", "http://127.0.0.1:9/v1")  # nothing listens: nothing may be sent
    assert main(["parse", *argv, "--batch_write_only", "true"]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {ROWS} requests in 1 Batch input files" in printed and "run_batch" in printed
    (export,) = out.glob("generate/*/batch-export")
    _run_like_vllm(export / "input-00000.jsonl", export / "results-00000.jsonl", teacher, fail=frozenset({"row-4"}))

    results = str(export / "results-*.jsonl")
    assert main(["parse", *argv, "--batch_results_files", results]) == 2
    assert "1 rows have no answer in batch_results_files" in capsys.readouterr().err
    # export again: only the failed row is written; answer it and ingest both result files
    assert main(["parse", *argv, "--batch_write_only", "true"]) == 0
    assert [json.loads(x)["custom_id"] for x in (export / "input-00000.jsonl").read_text().splitlines()] == ["row-4"]
    _run_like_vllm(export / "input-00000.jsonl", export / "results-00001.jsonl", teacher)
    assert main(["parse", *argv, "--batch_results_files", results]) == 0
    assert _parsed([*argv, "--batch_results_files", results]) == live_rows

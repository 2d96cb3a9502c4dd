"""The verdict channel (`execution.verdict`) and the Python runner, through the real executor and bubblewrap: `pass`
only when the tests' own code returned with every check holding; forged and honest-mistake passes end
`tests_incomplete` or `fail`; idiomatic correct tests pass."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from dataset_builder.execution import verdict
from dataset_builder.execution.executor import Executor, Job
from dataset_builder.execution.sandbox import Bwrap, Completed, Limits
from dataset_builder.execution.toolchains import Toolchain

GOOD = "def add(a, b):\n    return a + b\n"
BAD = "def add(a, b):\n    return a - b\n"
ASSERTS = "from solution import *\nassert add(2, 3) == 5\n"
PYTEST_STYLE = "from solution import *\n\ndef test_add():\n    assert add(2, 3) == 5\n"
UNITTEST = (
    "import unittest\nfrom solution import *\n\nclass T(unittest.TestCase):\n    def test_add(self):\n"
    "        self.assertEqual(add(2, 3), 5)\n\nif __name__ == '__main__':\n    unittest.main()\n"
)
# the channel's numbers from the environment the process started with, then a forged `done` line
FORGE = (
    "import os\nenv = dict(kv.split('=', 1) for kv in open('/proc/self/environ').read().split('\\0') if '=' in kv)\n"
    "try:\n    token = os.read(int(env['OSS_VERDICT_IN']), 64).decode().strip()\nexcept OSError:\n"
    "    token = '0' * 32\nos.write(int(env['OSS_VERDICT_OUT']), f'done {token} 1\\n'.encode())\nos._exit(0)\n"
)

# name -> (solution, tests, status, a phrase of exec_detail)
CASES = {
    "good asserts": (GOOD, ASSERTS, "pass", ""),
    "bad asserts": (BAD, ASSERTS, "fail", ""),
    "unguarded sys.exit(main()) in a wrong solution": (
        BAD + "import sys\ndef main():\n    return 0\nsys.exit(main())\n", ASSERTS, "fail", ""),
    "unguarded sys.exit(main()) in a right solution": (
        GOOD + "import sys\ndef main():\n    return 0\nsys.exit(main())\n", ASSERTS, "pass", ""),
    "os._exit(0) at load": (BAD + "import os\nos._exit(0)\n", ASSERTS, "tests_incomplete", "loading"),
    "atexit turns the failure into 0": (
        BAD + "import atexit, os\natexit.register(lambda: os._exit(0))\n", ASSERTS, "fail", ""),
    "SIGABRT/excepthook": (BAD + "import sys\nsys.excepthook = lambda *a: None\n", ASSERTS, "fail", ""),
    "exit inside the function under test": (
        "import sys\ndef add(a, b):\n    sys.exit(0)\n", ASSERTS, "tests_incomplete", "called exit"),
    "os._exit inside the function under test": (
        "import os\ndef add(a, b):\n    os._exit(0)\n", ASSERTS, "tests_incomplete", "before the tests returned"),
    "pytest-style tests nothing calls, wrong": (BAD, PYTEST_STYLE, "fail", ""),
    "pytest-style tests nothing calls, right": (GOOD, PYTEST_STYLE, "pass", ""),
    "unittest, wrong": (BAD, UNITTEST, "fail", ""),
    "unittest, right": (GOOD, UNITTEST, "pass", ""),
    "empty unittest suite": (GOOD, "import unittest\n\nclass T(unittest.TestCase):\n    pass\n\nunittest.main()\n",
                             "tests_incomplete", "no check ran"),
    "tests forget the import": (GOOD, "assert add(2, 3) == 5\n", "pass", ""),
    "tests use a _private helper of the solution": (
        "def _sum(a, b):\n    return a + b\n", "from solution import *\nassert _sum(2, 3) == 5\n", "pass", ""),
    "tests end with sys.exit(0)": (GOOD, ASSERTS + "import sys\nsys.exit(0)\n", "pass", ""),
    "tests exit 1 on a failed check": (
        BAD, "import sys\nfrom solution import *\nif add(2, 3) != 5:\n    sys.exit(1)\n", "fail", ""),
    "a crash in the solution": ("def add(a, b):\n    return {}[a]\n", ASSERTS, "runtime_error", ""),
    "forged done line with a guessed token": (BAD + FORGE, ASSERTS, "tests_incomplete", "loading"),
    "test function with a fixture argument only": (
        GOOD, "from solution import *\n\ndef test_add(tmp_path):\n    assert add(2, 3) == 5\n",
        "tests_incomplete", "no check ran"),
}  # fmt: skip


@pytest.fixture(scope="module")
def results():
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap missing: apt-get install -y bubblewrap")
    folder = Path(tempfile.mkdtemp(prefix="oss-verdict-test-"))
    folder.chmod(0o711)
    executor = Executor(Bwrap(), Limits(wall_seconds=20, cpu_seconds=20), workers=2, build_dir=folder)
    base = int(time.monotonic_ns() % 10**9) * 100
    names = list(CASES)
    jobs = [Job(base + i, "python", CASES[name][0], CASES[name][1]) for i, name in enumerate(names)]
    done = {job.key: result for job, result in executor.run(jobs)}
    executor.close()
    shutil.rmtree(folder)
    return {name: done[base + i] for i, name in enumerate(names)}


@pytest.mark.parametrize("name", list(CASES))
def test_python_verdicts(results, name):
    _, _, status, detail = CASES[name]
    result = results[name]
    assert result.status == status, (result.detail, result.output)
    assert detail in result.detail


def test_the_report_needs_this_runs_token():
    token = "a" * 32
    assert verdict.parse(f"phase loading\ndone {token} 3\n", token).completed
    assert not verdict.parse(f"done {'b' * 32} 3\n", token).completed
    assert not verdict.parse(f"done {token} three\n", token).completed
    report = verdict.parse(f"phase testing\nincomplete {token} the solution exited\n", token)
    assert report.incomplete == "the solution exited" and report.phase == "testing"


def test_decide_exit_zero_without_the_report_is_never_pass():
    python = Toolchain("python", {}, "python", [])
    exited = Completed(0, None, b"", 0.1, False, False)
    assert verdict.decide(python, exited, verdict.Report(phase="testing"))[0] == "tests_incomplete"
    assert verdict.decide(python, exited, verdict.Report(completed=True, checks=2)) == ("pass", "")
    assert verdict.decide(python, exited, verdict.Report(completed=True, checks=0))[0] == "tests_incomplete"
    timed_out = Completed(None, 9, b"", 10.0, True, False)
    assert verdict.decide(python, timed_out, verdict.Report(completed=True, checks=1))[0] == "timeout"
    failed = Completed(1, None, b"Traceback (most recent call last):\nAssertionError\n", 0.1, False, False)
    assert verdict.decide(python, failed, verdict.Report(phase="testing")) == ("fail", "")


def test_a_channel_is_closed_after_use():
    with verdict.Channel() as channel:
        fds = channel.fds
        assert channel.report() == verdict.Report()
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)

"""The verdict channel: how a run says that its tests completed.

A run's exit status says little: code in the solution can exit 0 before the tests start (at load time, in a static
initializer), turn a failing check's exit into 0 (an exit hook, a signal handler) or end the tests early. So the
executor gives each run a fresh random token on a pipe (`OSS_VERDICT_IN`, a file descriptor number) and a second
pipe to answer on (`OSS_VERDICT_OUT`). The language's runner — the executor's own code, not the row's — reads the
token and closes that pipe before any of the row's code runs, and writes `done TOKEN CHECKS` only after the tests'
own code returned and every check held, then leaves at once (no exit hook runs after it). `pass` needs that line;
a run that exits 0 without it is `tests_incomplete`, with what the runner saw last (`phase NAME` lines). Runners of
interpreted languages whose parse errors would otherwise look like any failure (Bash, PHP) check that the solution
parses first and say `unparsed TOKEN why` when not: a `compile_error` at the compile stage (a mutant that does not
parse is not valid, as one that does not compile).

What this cannot stop is code in the same process that goes looking for the token (reads the runner's memory or the
descriptor before the runner does) or that fakes the checks themselves (an `__eq__` that always says True): that is
deliberate forgery, not a mistake, and the README and the card say so.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

ENV_IN = "OSS_VERDICT_IN"
ENV_OUT = "OSS_VERDICT_OUT"
REPORT_BYTES = 1 << 16  # what is read back; the runner writes a few short lines

# what the runner was doing when the run ended without `done` (its last `phase` line)
PHASES = {
    None: "the runner never started (the process exited before it ran)",
    "loading": "the run ended while loading the solution (an exit at load time)",
    "testing": "the run ended before the tests returned (an exit call or exit hook in the solution, or the tests "
    "exited early)",
    "collecting": "the run ended while collecting the tests' test functions and classes",
}
NO_CHECKS = "the tests completed but no check ran (no test function or case was run)"


@dataclass
class Report:
    completed: bool = False  # `done` with this run's token
    checks: int | None = None  # checks the runner counted (-1: not countable, e.g. plain asserts in a script)
    phase: str | None = None  # the last `phase` line
    incomplete: str | None = None  # `incomplete TOKEN why`: the runner itself saw the tests stop early
    unparsed: str | None = None  # `unparsed TOKEN why`: the solution does not parse (checked before any of it ran)


class Channel:
    """The two pipes of one run. Use as a context manager around `Sandbox.run(..., env=channel.env,
    pass_fds=channel.fds)`, then `report()`."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(16)
        self._token_in, token_out = os.pipe()
        os.write(token_out, f"{self.token}\n".encode())
        os.close(token_out)
        self._report_in, self._report_out = os.pipe()
        os.set_blocking(self._report_in, False)
        # A pipe is its maker's with mode 600: the run's unprivileged uid could use the inherited descriptors but not
        # open them again by /proc/self/fd/N (runtimes without raw descriptors, e.g. Java). Reading the token needs
        # the descriptor (only the run has it: /proc/PID/fd is closed to other uids), so this opens nothing wider.
        os.fchmod(self._token_in, 0o604)
        os.fchmod(self._report_out, 0o602)

    @property
    def env(self) -> dict[str, str]:
        return {ENV_IN: str(self._token_in), ENV_OUT: str(self._report_out)}

    @property
    def fds(self) -> tuple[int, int]:
        return self._token_in, self._report_out

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc) -> None:
        for fd in (self._token_in, self._report_out, self._report_in):
            if fd >= 0:
                os.close(fd)
        self._token_in = self._report_out = self._report_in = -1

    def report(self) -> Report:
        """What the run wrote back (call once the run is over: every process of it is gone)."""
        os.close(self._token_in)
        os.close(self._report_out)
        self._token_in = self._report_out = -1
        data = bytearray()
        while len(data) < REPORT_BYTES:
            try:
                chunk = os.read(self._report_in, REPORT_BYTES)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        return parse(data[:REPORT_BYTES].decode("utf-8", errors="replace"), self.token)


def parse(text: str, token: str) -> Report:
    report = Report()
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if parts[0] == "phase" and len(parts) >= 2:
            report.phase = parts[1].strip()
        elif parts[0] == "done" and len(parts) == 3 and secrets.compare_digest(parts[1], token):
            try:
                report.checks = int(parts[2])
            except ValueError:
                continue  # not the runner's line
            report.completed = True
        elif parts[0] == "incomplete" and len(parts) == 3 and secrets.compare_digest(parts[1], token):
            report.incomplete = parts[2].strip()
        elif parts[0] == "unparsed" and len(parts) == 3 and secrets.compare_digest(parts[1], token):
            report.unparsed = parts[2].strip()
    return report


def decide(toolchain, done, report: Report | None) -> tuple[str, str]:
    """(exec_status, detail) of a finished run step. `report` is None for a run without the channel."""
    if done.memory_exceeded:  # the kernel killed part of the tree at the row's memory limit (a cgroup)
        return "memory", "the row's processes went over the memory limit together"
    if done.timed_out:
        return "timeout", ""
    if done.output_limited:
        return "output_limit", ""
    if report is not None and report.unparsed:
        return "compile_error", report.unparsed
    if report is not None and report.completed and not report.incomplete:
        if report.checks == 0:
            return "tests_incomplete", NO_CHECKS
        return "pass", ""
    if report is not None and report.incomplete:
        return "tests_incomplete", report.incomplete
    status = toolchain.classify(done.returncode, done.signal, done.output.decode("utf-8", errors="replace"))
    if status == "pass" and report is not None:
        return "tests_incomplete", PHASES.get(report.phase, f"the run ended during {report.phase!r}")
    return status, ""

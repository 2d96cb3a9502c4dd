"""Limits on a row's whole tree (dataset_builder/execution/cgroups.py): hostile programs that each stay under the
per-process rlimits but not under the row's cgroup, through the real sandbox; detection, the rlimits fallback, stale
cgroups of dead executors, and the cgroup v2 layout against a fake cgroupfs folder (this machine's v2 hierarchy has
no controllers)."""

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from dataset_builder.execution import cgroups
from dataset_builder.execution.executor import Executor, Job
from dataset_builder.execution.sandbox import INSTALL_HINT, Bwrap, Limits

PYTHON = "/usr/bin/python3"
SLOT = 5
ROW = Limits(wall_seconds=20.0, cpu_seconds=20, memory_bytes=256 << 20, processes=64, tmpfs_bytes=64 << 20)


def cgroups_unavailable() -> str | None:
    """Why the hostile tests cannot run here (None: they can)."""
    if shutil.which("bwrap") is None:
        return f"bubblewrap is missing: {INSTALL_HINT}"
    limits = cgroups.detect()
    limits.close()
    return f"{limits.name}; {cgroups.HINT}" if isinstance(limits, cgroups.RlimitsOnly) else None


needs_cgroups = pytest.mark.skipif(cgroups_unavailable() is not None, reason=f"{cgroups_unavailable()}")


@pytest.fixture
def sandbox():
    sandbox = Bwrap()
    yield sandbox
    sandbox.close()


@pytest.fixture
def workdir():
    """A row folder the slot's uid can reach (pytest's tmp_path is under a 0700 folder)."""
    with tempfile.TemporaryDirectory(prefix="oss-cgroups-test-") as tmp:
        os.chmod(tmp, 0o755)
        folder = Path(tmp) / "work"
        folder.mkdir()
        yield folder


def python(code: str) -> list[str]:
    return [PYTHON, "-c", textwrap.dedent(code)]


def in_cgroup(sandbox, slot: int) -> set[int]:
    folders = sandbox.row_limits.folders(slot).values()
    return {int(pid) for folder in folders for pid in (folder / "cgroup.procs").read_text().split()}


def assert_contained_then_usable(sandbox, workdir) -> None:
    """Nothing of the attack is left in the slot's cgroup, and the slot's next run works with fresh counters."""
    assert in_cgroup(sandbox, SLOT) == set()
    after = sandbox.run(python("print('next row')"), workdir, ROW, slot=SLOT)
    assert after.returncode == 0 and after.output == b"next row\n", after
    assert not after.memory_exceeded and not after.usage.pids_limited and after.usage.cpu_seconds < 2


# --------------------------------------------------------------------------------------------------------------
# Hostile code, each part below the per-process rlimits
# --------------------------------------------------------------------------------------------------------------

MANY_PROCESSES = """
    import os, time
    for _ in range(40):
        if os.fork() == 0:
            block = bytearray(100 << 20)  # below RLIMIT_DATA (256 MiB) on its own
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(30)
            os._exit(0)
    time.sleep(30)
"""


@needs_cgroups
def test_forty_processes_of_100_mib_under_a_256_mib_row(sandbox, workdir):
    done = sandbox.run(python(MANY_PROCESSES), workdir, ROW, slot=SLOT)
    assert done.memory_exceeded and done.seconds < ROW.wall_seconds, done
    assert done.usage.memory_peak <= ROW.memory_bytes
    assert_contained_then_usable(sandbox, workdir)


@needs_cgroups
def test_shared_anonymous_mapping_of_1_gib(sandbox, workdir):
    code = """
        import mmap
        shared = mmap.mmap(-1, 1 << 30, flags=mmap.MAP_SHARED)  # not counted by RLIMIT_DATA
        for i in range(0, 1 << 30, 4096):
            shared[i] = 1
        print('touched 1 GiB')
    """
    done = sandbox.run(python(code), workdir, ROW, slot=SLOT)
    assert done.memory_exceeded and b"touched" not in done.output, done
    assert_contained_then_usable(sandbox, workdir)


@needs_cgroups
def test_dev_shm_file_of_1_gib(sandbox, workdir):
    code = """
        for n in range(32):  # tmpfs pages: not counted by RLIMIT_DATA; each file below RLIMIT_FSIZE
            with open(f'/dev/shm/part-{n}', 'wb') as f:
                for _ in range(32):
                    f.write(b'x' * (1 << 20))
        print('wrote 1 GiB')
    """
    done = sandbox.run(python(code), workdir, ROW, slot=SLOT)
    assert b"wrote" not in done.output, done
    assert done.memory_exceeded or b"No space left" in done.output, done
    assert_contained_then_usable(sandbox, workdir)


@needs_cgroups
def test_fork_bomb_stops_at_the_process_limit(sandbox, workdir):
    limits = Limits(wall_seconds=3.0, cpu_seconds=20, memory_bytes=256 << 20, processes=16)
    done = sandbox.run(["bash", "-c", ":(){ :|:& };:; sleep 1"], workdir, limits, slot=SLOT)
    # RLIMIT_NPROC (the slot's uid) and pids.max bound it alike here: whichever is reached first
    assert done.usage.pids_limited or b"fork: " in done.output, done
    assert done.seconds < limits.wall_seconds + 1.5
    assert_contained_then_usable(sandbox, workdir)


@needs_cgroups
def test_pids_max_alone_stops_a_root_fork_bomb(sandbox):
    """Without the sandbox's uid and rlimits (root is exempt from RLIMIT_NPROC), the slot's cgroup still stops it."""
    tree = sandbox.row_limits
    tree.prepare(SLOT, Limits(processes=16))
    code = """
        import os, time
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    os.closerange(0, 3)  # the test reads the bomb's output to its end
                    time.sleep(30)
                    os._exit(0)
                children += 1
        except BlockingIOError:
            print(children)
    """
    try:
        done = subprocess.run([*tree.enter_argv(SLOT), *python(code)], capture_output=True, timeout=30)
        assert done.returncode == 0 and 10 <= int(done.stdout) < 16, done  # the bomb was one of the 16
        assert tree.usage(SLOT).pids_limited and len(in_cgroup(sandbox, SLOT)) == int(done.stdout)
    finally:
        tree.kill(SLOT)
    assert in_cgroup(sandbox, SLOT) == set()


CPU_BURNERS = """
    import os, time
    def burn(seconds):  # each child stays below RLIMIT_CPU; a fresh one takes its place
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
    for _ in range(4):
        if os.fork() == 0:
            while True:
                if os.fork() == 0:
                    burn(0.5)
                    os._exit(0)
                os.wait()
    time.sleep(60)
"""


@needs_cgroups
def test_cpu_burners_stop_at_the_tree_budget_before_the_wall_clock(sandbox, workdir):
    limits = Limits(wall_seconds=30.0, cpu_seconds=2, memory_bytes=256 << 20)
    done = sandbox.run(python(CPU_BURNERS), workdir, limits, slot=SLOT)
    assert done.timed_out and done.seconds < limits.wall_seconds - 1, done  # a busy machine: 2 s of CPU took 12 s
    assert limits.cpu_seconds < done.usage.cpu_seconds < limits.cpu_seconds + 1.5
    assert_contained_then_usable(sandbox, workdir)


@needs_cgroups
def test_the_executor_calls_an_oom_kill_memory(workdir):
    """A row whose memory is spread over processes, each below RLIMIT_DATA: `memory`, not `runtime_error`."""
    solution = "import os, time\n" + textwrap.dedent(MANY_PROCESSES).replace("time.sleep(30)", "time.sleep(3)")
    tests = "from solution import *\nassert True\n"
    executor = Executor(Bwrap(), ROW, workers=1, build_dir=workdir)
    try:
        ((_, result),) = list(executor.run([Job(1, "python", solution, tests)]))
    finally:
        executor.sandbox.close()
    assert result.status == "memory", result


# --------------------------------------------------------------------------------------------------------------
# Detection, the fallback, cleaning up
# --------------------------------------------------------------------------------------------------------------


def test_no_cgroup_hierarchy_falls_back_to_rlimits_and_says_why_once(tmp_path, caplog):
    (tmp_path / "mounts").write_text("proc /proc proc rw 0 0\n")
    (tmp_path / "cgroup").write_text("0::/\n")
    with caplog.at_level(logging.WARNING, logger="dataset_builder.execution.cgroups"):
        first = cgroups.detect(tmp_path / "mounts", tmp_path / "cgroup")
        second = cgroups.detect(tmp_path / "mounts", tmp_path / "cgroup")
    assert isinstance(first, cgroups.RlimitsOnly) and isinstance(second, cgroups.RlimitsOnly)
    assert first.describe() == (
        "limits: rlimits only (no cgroup v2 hierarchy; no cgroup v1 memory, pids, cpuacct hierarchy)"
    )
    assert len(caplog.records) == 1 and "systemd-run --user --scope -p Delegate=yes" in caplog.text


@pytest.mark.skipif(os.geteuid() == 0, reason="as root this machine's cgroups are writable")
def test_a_normal_user_runs_with_rlimits_only(workdir):
    sandbox = Bwrap() if shutil.which("bwrap") else None
    if sandbox is None:
        pytest.skip(f"bubblewrap is missing: {INSTALL_HINT}")
    assert sandbox.row_limits.describe().startswith("limits: rlimits only (")
    assert cgroups.detect().name == sandbox.row_limits.name  # the same reason, so the warning is logged once
    done = sandbox.run(python("print('ok')"), workdir, ROW, slot=SLOT)
    assert done.returncode == 0 and done.output == b"ok\n" and not done.memory_exceeded


CRASHING_EXECUTOR = """
import os, tempfile, threading
from pathlib import Path
from dataset_builder.execution.sandbox import NoSandbox, Limits
sandbox = NoSandbox()
work = Path(tempfile.mkdtemp())
work.chmod(0o755)
print(sandbox.row_limits.own, flush=True)
threading.Timer(1.0, os.kill, (os.getpid(), 9)).start()  # the executor dies while its row runs
sandbox.run(["sleep", "300"], work, Limits(wall_seconds=60), slot=0)
"""


@needs_cgroups
def test_a_dead_executors_cgroups_are_removed_and_a_live_ones_kept(sandbox):
    live = sandbox.row_limits  # this process's: another start must leave it alone
    live.prepare(SLOT, ROW)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_EXECUTOR], capture_output=True, text=True, env={**os.environ}, timeout=60
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    dead = crashed.stdout.strip()
    dead_folders = [base / dead for base in live.bases.values()]
    assert all(folder.is_dir() for folder in dead_folders)
    left = {int(p) for p in (dead_folders[0] / "slot-0" / "cgroup.procs").read_text().split()}
    assert left, "the crashed executor's row left a process in its cgroup (setsid escapes its group)"

    fresh = cgroups.detect()
    try:
        assert not any(folder.exists() for folder in dead_folders)
        deadline = time.monotonic() + 5
        while any(Path(f"/proc/{pid}").exists() and b"Z" not in _state(pid) for pid in left):
            assert time.monotonic() < deadline, f"{left} survived the removal of the dead executor's cgroups"
            time.sleep(0.05)
        assert all(folder.is_dir() for folder in live.folders(SLOT).values())
    finally:
        fresh.close()
    assert not any((base / fresh.own).exists() for base in fresh.bases.values())


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return b"Z"


@needs_cgroups
def test_what_a_thread_of_the_run_forks_is_counted_in_the_slot(sandbox, workdir):
    """The shell entering the slot moves itself (one thread: cgroup v1's `tasks`, which skips the kernel's global
    threadgroup lock) before it execs the rest: a process forked from a thread of the command is in the slot's
    cgroup: its memory and its CPU time are the slot's."""
    code = """
        import os, threading, time
        def child():
            block = bytearray(96 << 20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            end = time.process_time() + 0.4
            while time.process_time() < end:
                pass
        def fork_from_thread():
            pid = os.fork()
            if pid == 0:
                try:
                    child()
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
        thread = threading.Thread(target=fork_from_thread)
        thread.start()
        thread.join()
    """
    done = sandbox.run(python(code), workdir, ROW, slot=SLOT)
    assert done.returncode == 0, done
    assert done.usage.cpu_seconds >= 0.4, done.usage
    if done.usage.memory_peak is not None:  # v1 (v2's peak is not per run)
        assert done.usage.memory_peak >= 96 << 20, done.usage
    assert_contained_then_usable(sandbox, workdir)

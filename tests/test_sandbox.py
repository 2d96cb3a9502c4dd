"""The sandbox that runs untrusted code (dataset_builder/execution/sandbox.py), attacked: each hostile program must be
contained, with the observable the executor classifies by, and must leave no process behind."""

import os
import select
import shutil
import signal
import socket
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from dataset_builder.execution.sandbox import (
    INSTALL_HINT,
    SANDBOXES,
    Bwrap,
    Limits,
    NoSandbox,
    SandboxError,
    leftovers,
)

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason=f"bubblewrap is missing: {INSTALL_HINT}")
ROOT = os.geteuid() == 0
SLOT = 47  # any slot: each sandbox leases a block of uids of its own
SMALL = Limits(wall_seconds=2.0, cpu_seconds=5, memory_bytes=256 << 20, processes=16, file_bytes=1 << 20,
               output_bytes=64 << 10, tmpfs_bytes=16 << 20)  # fmt: skip
PYTHON = "/usr/bin/python3"


@pytest.fixture(params=["bwrap", "none"])
def sandbox(request):
    if request.param == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip(f"bubblewrap is missing: {INSTALL_HINT}")
    return SANDBOXES[request.param]()


@pytest.fixture
def workdir():
    """A row folder the slot's uid can reach (pytest's tmp_path is under a 0700 folder: the sandbox refuses it)."""
    with tempfile.TemporaryDirectory(prefix="oss-sandbox-test-") as tmp:
        os.chmod(tmp, 0o755)
        folder = Path(tmp) / "work"
        folder.mkdir()
        yield folder


def python(code: str, marker: str) -> list[str]:
    """A Python program whose command line carries `marker`, so its processes can be found."""
    return [PYTHON, "-c", f"# {marker}\n" + textwrap.dedent(code)]


def alive(marker: str) -> list[int]:
    """Live processes whose command line contains `marker`."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
                state = Path(f"/proc/{name}/stat").read_bytes().rpartition(b")")[2].split()[0]
            except (FileNotFoundError, ProcessLookupError):
                continue  # exited while we looked
            if marker.encode() in cmdline and state != b"Z":
                found.append(int(name))
    return found


def assert_nothing_left(marker: str, sandbox) -> None:
    assert alive(marker) == []
    if ROOT:
        assert leftovers(sandbox.uid(SLOT)) == []


# --------------------------------------------------------------------------------------------------------------
# Ordinary runs
# --------------------------------------------------------------------------------------------------------------


def test_exit_codes_and_merged_output(sandbox, workdir):
    done = sandbox.run(["sh", "-c", "echo out; echo err >&2; exit 3"], workdir, SMALL, slot=SLOT)
    assert (done.returncode, done.signal, done.timed_out, done.output_limited) == (3, None, False, False)
    assert done.output == b"out\nerr\n" and 0 < done.seconds < 2
    assert sandbox.run(["true"], workdir, SMALL, slot=SLOT).returncode == 0
    killed = sandbox.run(["sh", "-c", "kill -SEGV $$"], workdir, SMALL, slot=SLOT)
    assert (killed.returncode, killed.signal) == (None, signal.SIGSEGV)
    # a signal's status comes through the namespace's first process unchanged, and nothing is printed about it
    abort = [PYTHON, "-c", "import os; print('before', flush=True); os.abort()"]
    aborted = sandbox.run(abort, workdir, SMALL, slot=SLOT)
    assert (aborted.returncode, aborted.signal, aborted.output) == (None, signal.SIGABRT, b"before\n")


def test_the_row_folder_is_the_working_directory(sandbox, workdir):
    (workdir / "solution.py").write_text("print('from the row')\n")
    done = sandbox.run([PYTHON, "solution.py"], workdir, SMALL, slot=SLOT)
    assert done.output == b"from the row\n"
    written = sandbox.run(["sh", "-c", "echo made > out.txt"], workdir, SMALL, slot=SLOT, writable_host=True)
    assert written.returncode == 0 and (workdir / "out.txt").read_text() == "made\n"


def test_a_run_writes_into_a_work_area_of_its_own(workdir):
    """Without writable_host, bwrap's run reads the row's files and writes beside them, never into the host folder."""
    (workdir / "solution.py").write_text("print('from the row')\n")
    code = "echo made > out.txt && cat out.txt && rm -f solution.py; echo more >> solution.py; python3 solution.py"
    done = Bwrap().run(["sh", "-c", code], workdir, SMALL, slot=SLOT)
    assert done.output.startswith(b"made\n") and b"from the row" in done.output
    assert sorted(p.name for p in workdir.iterdir()) == ["solution.py"]
    assert (workdir / "solution.py").read_text() == "print('from the row')\n"


def test_environment_is_empty_but_for_what_is_given(sandbox, workdir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")
    monkeypatch.setenv("HF_TOKEN", "hf_TestSecretToken0123456789abcdef")
    done = sandbox.run(["env"], workdir, SMALL, slot=SLOT, env={"RUST_TEST_THREADS": "1"})
    variables = dict(line.split("=", 1) for line in done.output.decode().splitlines())
    assert set(variables) <= {"PATH", "HOME", "LANG", "PWD", "RUST_TEST_THREADS"}
    assert variables["LANG"] == "C.UTF-8" and variables["RUST_TEST_THREADS"] == "1"
    assert b"sk-test-secret" not in done.output and b"hf_Test" not in done.output


def test_limits_are_set_in_the_child(sandbox, workdir):
    done = sandbox.run(["bash", "-c", "ulimit -t; ulimit -d; ulimit -u; ulimit -f; ulimit -c; id -u"], workdir, SMALL,
                       slot=SLOT)  # fmt: skip
    cpu, data_kib, processes, file_blocks, core, uid = done.output.decode().split()
    assert (int(cpu), int(data_kib) * 1024, int(file_blocks) * 1024, int(core)) == (5, 256 << 20, 1 << 20, 0)
    if ROOT:  # root is exempt from RLIMIT_NPROC: each slot runs as its own uid; its unreaped zombies come on top
        assert int(uid) == sandbox.uid(SLOT) and 16 <= int(processes) < 16 + 100


# --------------------------------------------------------------------------------------------------------------
# Hostile code
# --------------------------------------------------------------------------------------------------------------


def test_python_fork_bomb(sandbox, workdir):
    code = """
    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
    """
    done = sandbox.run(python(code, "fork-bomb-py"), workdir, SMALL, slot=SLOT)
    assert done.timed_out or done.returncode != 0
    assert done.seconds < SMALL.wall_seconds + 1.5
    assert_nothing_left("fork-bomb-py", sandbox)


def test_shell_fork_bomb(sandbox, workdir):
    # the bomb runs in the background: the shell waits a second for it to hit the process limit
    done = sandbox.run(["bash", "-c", ":(){ :|:& };:; sleep 1 # fork-bomb-sh"], workdir, SMALL, slot=SLOT)
    assert done.timed_out or b"fork: " in done.output  # bash: "fork: retry: Resource temporarily unavailable"
    assert done.seconds < SMALL.wall_seconds + 1.5
    assert_nothing_left("fork-bomb-sh", sandbox)


def test_memory_bomb(sandbox, workdir):
    done = sandbox.run(python("data = bytearray(4 << 30)", "memory-bomb"), workdir, SMALL, slot=SLOT)
    assert done.returncode != 0 and b"MemoryError" in done.output and not done.timed_out


def test_infinite_loop_is_stopped_by_the_wall_clock(sandbox, workdir):
    done = sandbox.run(python("while True: pass", "busy-loop"), workdir, SMALL, slot=SLOT)
    assert done.timed_out and done.signal == signal.SIGKILL
    assert SMALL.wall_seconds <= done.seconds < SMALL.wall_seconds + 1.0
    assert_nothing_left("busy-loop", sandbox)


def test_cpu_limit(sandbox, workdir):
    # a wall clock far beyond the CPU budget: what stops the loop long before it is the CPU limit, however busy the
    # machine (a second of CPU takes longer than a second of wall time when other processes share the cores)
    limits = Limits(wall_seconds=60.0, cpu_seconds=1)
    done = sandbox.run(python("while True: pass", "cpu-loop"), workdir, limits, slot=SLOT)
    # RLIMIT_CPU (SIGXCPU) or, where a cgroup measures the tree, its CPU budget (timed_out): both are `timeout`
    assert (done.timed_out or done.signal in (signal.SIGXCPU, signal.SIGKILL)) and done.seconds < 30


def test_output_flood(sandbox, workdir):
    done = sandbox.run(python("while True: print('flood' * 100)", "flood"), workdir, SMALL, slot=SLOT)
    assert done.output_limited and not done.timed_out
    assert len(done.output) <= SMALL.output_bytes and done.output.startswith(b"flood")
    assert done.seconds < SMALL.wall_seconds  # stopped by the cap, not the clock
    assert_nothing_left("flood", sandbox)


@needs_bwrap
def test_no_network_to_a_host_listener(workdir):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    code = f"""
    import socket
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"stolen")
        print("connected")
    except OSError as error:
        print("refused", error)
    """
    try:
        done = Bwrap().run(python(code, "network"), workdir, SMALL, slot=SLOT)
        readable, _, _ = select.select([listener], [], [], 0.3)
        assert readable == []  # nothing ever reached the host's socket
    finally:
        listener.close()
    assert done.output.startswith(b"refused") and b"connected" not in done.output


@pytest.mark.skipif(not ROOT, reason="without root, NoSandbox runs as the user, who owns these files")
def test_writes_outside_the_folder_fail(sandbox, workdir, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as host:  # outside /tmp, which bwrap replaces
        kept = Path(host) / "kept.txt"
        kept.write_text("keep me too\n")
        targets = [str(outside), str(kept), "/oss-sandbox-probe", "/root/oss-sandbox-probe"]
        code = f"""
        import os
        for path in {targets!r}:
            for attempt in (lambda: open(path, "a").write("owned"), lambda: os.remove(path)):
                try:
                    attempt()
                    print("succeeded", path)
                except OSError as error:
                    print("failed", path, type(error).__name__)
        """
        done = sandbox.run(python(code, "escape-files"), workdir, SMALL, slot=SLOT)
        assert b"succeeded" not in done.output and done.output.count(b"failed") == 8
        assert kept.read_text() == "keep me too\n"
    assert outside.read_text() == "keep me\n"
    assert not Path("/oss-sandbox-probe").exists() and not Path("/root/oss-sandbox-probe").exists()


def test_file_bigger_than_the_limit(sandbox, workdir):
    done = sandbox.run(["dd", "if=/dev/zero", "of=big", "bs=64k", "count=64"], workdir, SMALL, slot=SLOT,
                       writable_host=True)  # fmt: skip
    assert done.signal == signal.SIGXFSZ
    assert (workdir / "big").stat().st_size <= SMALL.file_bytes
    code = "open('big2', 'wb').write(bytes(2 << 20))"  # Python ignores SIGXFSZ: the write fails instead
    done = sandbox.run(python(code, "big-file"), workdir, SMALL, slot=SLOT)
    assert done.returncode != 0 and b"File too large" in done.output


def test_double_fork_and_setsid_do_not_escape(sandbox, workdir):
    if sandbox.name == "none" and not ROOT:
        pytest.skip("without root, NoSandbox has no uid of its own to find an escaped process by")
    code = """
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.close(1)
            os.close(2)
            time.sleep(30)
        os._exit(0)
    print("parent done")
    """
    done = sandbox.run(python(code, "escape-setsid"), workdir, SMALL, slot=SLOT)
    assert done.output == b"parent done\n" and done.returncode == 0 and not done.timed_out
    assert_nothing_left("escape-setsid", sandbox)


# --------------------------------------------------------------------------------------------------------------
# Checks and errors
# --------------------------------------------------------------------------------------------------------------


@needs_bwrap
def test_check_and_version():
    sandbox = Bwrap()
    sandbox.check()
    sandbox.check()  # cached
    assert sandbox.version().startswith("bubblewrap ")
    assert NoSandbox().version() == "none"


def test_check_names_the_fix_when_bwrap_is_missing(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, **_: None)
    with pytest.raises(SandboxError, match="apt-get install -y bubblewrap") as error:
        Bwrap().check()
    assert "sandbox: none" in str(error.value)


@needs_bwrap
def test_check_shows_why_bwrap_fails(monkeypatch):
    sandbox = Bwrap()
    sandbox._binary = "/bin/false"  # a bwrap that cannot set up its namespaces
    with pytest.raises(SandboxError, match="sandbox: none"):
        sandbox.check()


@needs_bwrap
@pytest.mark.skipif(not ROOT, reason="only root drops to a slot uid")
def test_a_folder_the_slot_uid_cannot_reach_is_named(tmp_path):
    private = tmp_path / "private"
    (private / "work").mkdir(parents=True)
    private.chmod(0o700)
    with pytest.raises(SandboxError, match="chmod o\\+x"):
        Bwrap().run(["true"], private / "work", SMALL, slot=SLOT)


def test_no_sandbox_runs_in_the_host_folder(workdir):
    done = NoSandbox().run(["pwd"], workdir, SMALL, slot=SLOT)
    assert done.output.decode().strip() == str(workdir)


def test_a_killed_run_returns_promptly_and_reaps(sandbox, workdir):
    start = time.monotonic()
    done = sandbox.run(python("import time; time.sleep(30)", "sleeper"), workdir, Limits(wall_seconds=0.5), slot=SLOT)
    assert done.timed_out and time.monotonic() - start < 2
    assert_nothing_left("sleeper", sandbox)


def test_bwraps_info_is_read_to_its_end_or_given_up_at_the_deadline():
    """bwrap dies of SIGPIPE if it writes its info after we closed the pipe (its child then waits forever), so the
    reader says whether it got the end or gave up."""
    from dataset_builder.execution.bwrap import _read_child_pid

    read, write = os.pipe()
    os.write(write, b'{\n    "child-pid": 4242,\n    "net-namespace": 1\n}\n')
    os.close(write)
    assert _read_child_pid(read, time.monotonic() + 5) == (4242, False)
    os.close(read)
    read, write = os.pipe()
    try:
        assert _read_child_pid(read, time.monotonic() + 0.05) == (None, True)  # nothing written, the pipe open
        os.close(write)
        write = None
        assert _read_child_pid(read, time.monotonic() + 5) == (None, False)  # closed without: bwrap failed
    finally:
        os.close(read)
        if write is not None:
            os.close(write)


@needs_bwrap
def test_a_read_only_path_under_tmp_is_shown_over_the_private_tmp(workdir):
    """A checkout (and its harness environment) may live under /tmp: the private /tmp must not hide it."""
    with tempfile.TemporaryDirectory(prefix="oss-shown-") as shown:
        os.chmod(shown, 0o755)
        Path(shown, "tool.txt").write_text("visible\n")
        Path(shown, "tool.txt").chmod(0o644)
        sandbox = Bwrap(extra_ro_paths=(Path(shown),))
        done = sandbox.run(["sh", "-c", f"cat {shown}/tool.txt; echo x > {shown}/new"], workdir, SMALL, slot=SLOT)
        assert done.output.startswith(b"visible\n") and b"Read-only file system" in done.output
        assert not Path(shown, "new").exists()

"""What bubblewrap's sandbox (dataset_builder/execution/bwrap.py) lets a row see and do, attacked: host secrets, other
rows, host sockets, nested namespaces, the keyring and other refused syscalls, and the caps on /dev/shm and the work
area. Each test also passes as a normal user (the README's test notes)."""

import errno
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from dataset_builder.execution import seccomp, toolchains
from dataset_builder.execution.bwrap import ETC
from dataset_builder.execution.executor import Executor, Job
from dataset_builder.execution.processes import UidLease
from dataset_builder.execution.sandbox import BASE_UID, INSTALL_HINT, Bwrap, Limits, SandboxError

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason=f"bubblewrap is missing: {INSTALL_HINT}")
SECRET = "hf_PlantedSecretToken0123456789"
PYTHON = "/usr/bin/python3"
LIMITS = Limits(wall_seconds=10.0, cpu_seconds=10, memory_bytes=256 << 20, processes=32, file_bytes=64 << 20,
                output_bytes=64 << 10, tmpfs_bytes=8 << 20, shm_bytes=4 << 20)  # fmt: skip


@pytest.fixture(scope="module")
def sandbox():
    return Bwrap()


@pytest.fixture
def rows():
    """A build folder with two rows' folders (the sandbox's uid can reach it, as pytest's tmp_path is 0700)."""
    with tempfile.TemporaryDirectory(prefix="oss-hostile-") as tmp:
        os.chmod(tmp, 0o755)
        for key in ("1", "2"):
            (Path(tmp) / key).mkdir()
            (Path(tmp) / key / "solution.py").write_text(f"ROW = {key}\n")
        yield Path(tmp)


@pytest.fixture(scope="module")
def host():
    """A fake home with a world-readable Hub token and a fake project with a `.env`, outside /tmp (world-readable, so
    a slot uid could read them on the host)."""
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="oss-hostile-host-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        token = root / "home" / "user" / ".cache" / "huggingface" / "token"
        env = root / "project" / ".env"
        for path in (token, env):
            path.parent.mkdir(parents=True)
            path.write_text(f"HF_TOKEN={SECRET}\n")
            for folder in (path.parent, *path.parent.parents):
                if folder == root:
                    break
                os.chmod(folder, 0o755)
            os.chmod(path, 0o644)
        yield root, token, env


def python(code: str) -> list[str]:
    return [PYTHON, "-c", textwrap.dedent(code)]


def test_host_files_and_other_rows_are_absent(sandbox, rows, host):
    _, token, env = host
    targets = [str(token), str(env), str(rows / "2" / "solution.py"), "/etc/passwd", "/etc/hostname"]
    code = f"""
    import os
    for path in {targets!r}:
        try:
            open(path).read()
            print("read", path)
        except OSError as error:
            print(type(error).__name__, path)
    print(sorted(os.listdir("/")))
    """
    done = sandbox.run(python(code), rows / "1", LIMITS)
    out = done.output.decode()
    assert done.returncode == 0, out
    assert SECRET not in out and "read " not in out
    assert out.count("FileNotFoundError") == len(targets)
    assert eval(out.splitlines()[-1]) == ["bin", "dev", "etc", "lib", "lib64", "proc", "sbin", "tmp", "usr"]


def test_the_root_is_read_only(sandbox, rows):
    done = sandbox.run(["sh", "-c", "echo x > /probe || echo refused; mkdir /etc/x || echo refused"], rows / "1",
                       LIMITS)  # fmt: skip
    assert done.output.count(b"refused") == 2 and b"Read-only file system" in done.output


def test_etc_holds_the_toolchains_entries_only_as_the_host_has_them(rows):
    """The view's /etc is a copy of the ETC entries made once per sandbox (one bind instead of one per entry): the
    same names, the same bytes, links to the same targets; the copy goes with `close()`."""
    sandbox = Bwrap()
    expected = sorted({p.name for pattern in ETC for p in Path("/etc").glob(pattern)})
    link = next(p for p in sorted(Path("/etc/alternatives").iterdir()) if p.is_symlink())
    code = f"""
    import hashlib, os
    print(sorted(os.listdir("/etc")))
    print(hashlib.sha256(open("/etc/ld.so.cache", "rb").read()).hexdigest())
    print(os.readlink({str(link)!r}))
    """
    done = sandbox.run(python(code), rows / "1", LIMITS)
    out = done.output.decode().splitlines()
    assert done.returncode == 0, out
    assert eval(out[0]) == expected
    assert out[1] == hashlib.sha256(Path("/etc/ld.so.cache").read_bytes()).hexdigest()
    assert out[2] == os.readlink(link)
    copy = sandbox._etc()
    assert copy.is_dir()
    sandbox.close()
    assert not copy.exists()


@pytest.mark.skipif(toolchains.find("cpp") is None, reason="g++ is missing")
def test_a_cpp_include_of_a_host_secret_does_not_leak_it(rows, host):
    _, _, env = host
    executor = Executor(Bwrap(), LIMITS, Limits(wall_seconds=60.0, cpu_seconds=60), workers=1, build_dir=rows)
    job = Job(7, "cpp", f'#include "{env}"\nint f() {{ return 1; }}\n', "int main() { return f() == 1 ? 0 : 1; }")
    result = executor.run_one(job)
    assert result.status == "compile_error" and "No such file or directory" in result.output
    assert SECRET not in result.output


def test_a_host_unix_socket_cannot_be_reached(sandbox, rows, host):
    root, _, _ = host
    path = root / "agent.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    os.chmod(path, 0o777)
    listener.listen()
    listener.setblocking(False)
    code = f"""
    import socket
    for address in ({str(path)!r}, "\\0oss-hostile-abstract"):
        try:
            socket.socket(socket.AF_UNIX).connect(address)
            print("connected")
        except OSError as error:
            print("refused", type(error).__name__)
    """
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind("\0oss-hostile-abstract")
    abstract.listen()
    try:
        done = sandbox.run(python(code), rows / "1", LIMITS)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
        abstract.close()
    assert done.output.count(b"refused") == 2 and b"connected" not in done.output


def test_no_nested_user_namespace(sandbox, rows):
    done = sandbox.run(["sh", "-c", "unshare -Urnm true; echo status $?"], rows / "1", LIMITS)
    assert b"status 0" not in done.output and b"status " in done.output


SYSCALLS = {
    "keyctl": 250,
    "add_key": 248,
    "unshare": 272,
    "io_uring_setup": 425,
    "ptrace": 101,
    "bpf": 321,
    "userfaultfd": 323,
    "perf_event_open": 298,
    "clone3": 435,
    "mount": 165,
}  # x86-64 numbers; fmt: skip


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers are x86-64's")
def test_refused_syscalls(sandbox, rows):
    """The keyring (a session's secrets), io_uring, namespaces and the rest fail with EPERM; clone3 with ENOSYS (libc
    then falls back to clone, whose namespace flags are refused)."""
    code = f"""
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    for name, number in {SYSCALLS!r}.items():
        # keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING); the others with arguments that would otherwise work
        # or fail with another error than EPERM
        args = {{"keyctl": (0, -3, 0), "unshare": (0x10000000,), "clone3": (0, 0),
                "io_uring_setup": (1, ctypes.create_string_buffer(120))}}.get(name, (0, 0, 0))
        result = libc.syscall(number, *args)
        print(name, result, ctypes.get_errno())
    """
    done = sandbox.run(python(code), rows / "1", LIMITS)
    seen = {name: (int(result), int(error)) for name, result, error in (line.split() for line in
            done.output.decode().splitlines())}  # fmt: skip
    expected = {name: (-1, errno.ENOSYS if name == "clone3" else errno.EPERM) for name in SYSCALLS}
    assert seen == expected


def test_dev_shm_is_capped(sandbox, rows):
    done = sandbox.run(["dd", "if=/dev/zero", "of=/dev/shm/big", "bs=1M", "count=8"], rows / "1", LIMITS)
    assert done.returncode != 0 and b"No space left on device" in done.output


def test_the_work_area_is_capped_and_the_host_folder_unchanged(sandbox, rows):
    before = {p.name: p.read_bytes() for p in (rows / "1").iterdir()}
    code = "echo x >> solution.py; rm -f solution.py; dd if=/dev/zero of=big bs=1M count=16; ls -l big"
    done = sandbox.run(["sh", "-c", code], rows / "1", LIMITS)
    assert b"No space left on device" in done.output and b"cannot create solution.py" in done.output
    assert {p.name: p.read_bytes() for p in (rows / "1").iterdir()} == before
    compile_step = sandbox.run(["sh", "-c", "echo made > out.o"], rows / "1", LIMITS, writable_host=True)
    assert compile_step.returncode == 0 and (rows / "1" / "out.o").read_text() == "made\n"


def test_a_missing_seccomp_binding_names_the_fix(monkeypatch):
    """An interpreter without libseccomp's bindings (this virtual environment's) cannot build the filter."""
    monkeypatch.setattr(seccomp, "SYSTEM_PYTHON", sys.executable)
    monkeypatch.setattr(seccomp, "_CACHE", {})
    with pytest.raises(SandboxError, match="apt-get install -y python3-seccomp"):
        Bwrap().check()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root leases uids")
def test_uids_are_free_and_outside_every_system_range(tmp_path, rows):
    """A block with a live process (or a passwd entry) is skipped; the sweep never touches another uid's process."""
    busy = BASE_UID + 5  # block 0, in a lock folder of our own
    squatter = subprocess.Popen(["setpriv", f"--reuid={busy}", f"--regid={busy}", "--clear-groups", "sleep", "60"])
    try:
        deadline = time.monotonic() + 10
        while os.stat(f"/proc/{squatter.pid}").st_uid != busy and time.monotonic() < deadline:
            time.sleep(0.01)
        lease = UidLease(tmp_path)
        try:
            assert lease.block != 0 and busy not in lease.uids
        finally:
            lease.release()
        sandbox = Bwrap()
        assert sandbox.run(["true"], rows / "1", LIMITS, slot=3).returncode == 0
        uids = sandbox.uids()
        assert 0x70000000 <= uids[0] and uids[-1] < 0x7FFE0000 and busy not in uids
        assert all(pwd_free(uid) for uid in uids)
        assert squatter.poll() is None  # still alive after the run's sweep
    finally:
        squatter.kill()
        squatter.wait()


def pwd_free(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return True
    return False


# What a normal user's run must also guarantee: without root there is no uid of its own to sweep, so `run` may return
# only once the pid namespace is empty (the namespace's first process exits after the kernel killed the rest).
AS_USER = """
import os, sys, time
from pathlib import Path
from dataset_builder.execution.bwrap import Bwrap
from dataset_builder.execution.sandbox import Limits

def alive(marker):
    found = []
    for name in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes() if name.isdigit() else b""
            state = Path(f"/proc/{name}/stat").read_bytes().rpartition(b")")[2].split()[0] if cmdline else b""
        except (FileNotFoundError, ProcessLookupError):
            continue
        if marker.encode() in cmdline and state != b"Z" and name != str(os.getpid()):  # this script names it too
            found.append(name)
    return found

escape = '''# escape-as-user
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.close(1); os.close(2); time.sleep(30)
    os._exit(0)
print("parent done")
'''
work = Path(sys.argv[1])
sandbox = Bwrap()
for _ in range(5):
    done = sandbox.run(["/usr/bin/python3", "-c", escape], work, Limits(wall_seconds=10.0))
    assert done.output == b"parent done\\n" and done.returncode == 0, done
    assert alive("escape-as-user") == [], alive("escape-as-user")
done = sandbox.run(["/usr/bin/python3", "-c", "# sleeper-as-user\\nimport time; time.sleep(30)"], work,
                   Limits(wall_seconds=0.5))
assert done.timed_out and alive("sleeper-as-user") == []
print("ok", os.geteuid())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start a normal user's process")
def test_a_normal_users_run_leaves_nothing_running_when_it_returns(tmp_path_factory):
    """The same checks as test_sandbox's escape tests, as `nobody` (no uid lease, no sweep): each must hold right
    after `run` returns, five times in a row."""
    with tempfile.TemporaryDirectory(prefix="oss-as-user-") as tmp:
        os.chmod(tmp, 0o755)
        shutil.copytree(Path(__file__).parents[1] / "dataset_builder", Path(tmp, "dataset_builder"))
        work = Path(tmp, "work")
        work.mkdir()
        subprocess.run(["chown", "-R", "65534:65534", tmp], check=True)
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PYTHON, "-c", AS_USER, str(work)],
            cwd=tmp, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": tmp, "HOME": tmp}, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0 and done.stdout.strip() == "ok 65534", done.stdout + done.stderr

"""What a row can leave in its folder must never stop a build (dataset_builder/execution/workarea.py): chains deeper
than PATH_MAX and the recursion limit, folders without permission, links to host files, forged compile markers. Rows
go through the executor with `NoSandbox` (the code runs in the host folder) and with bwrap's compile step (which
writes into it); the next rows and a rerun go on."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from dataset_builder.execution import toolchains, workarea
from dataset_builder.execution.executor import MARKER, Executor, Job
from dataset_builder.execution.sandbox import Bwrap, Limits, NoSandbox

DEPTH = 5000
LIMITS = Limits(wall_seconds=30.0, cpu_seconds=30)
ROOT = os.geteuid() == 0
# Leaves a DEPTH-deep chain, a chmod 000 folder holding a file, and links to a host file (symlink; a hard link where
# the kernel allows one) in the current folder.
HOSTILE = f"""
import os
fd = os.open(".", os.O_RDONLY)
for _ in range({DEPTH}):
    os.mkdir("d", dir_fd=fd)
    inner = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = inner
os.makedirs("closed/inner")
open("closed/inner/file", "w").write("x")
os.chmod("closed/inner", 0)
os.chmod("closed", 0)
os.symlink(HOST, "link")
try:
    os.link(HOST, "hard")
except OSError:
    pass  # protected_hardlinks: not the row's file
"""


@pytest.fixture
def build():
    tmp = Path(tempfile.mkdtemp(prefix="oss-workarea-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    os.chmod(tmp, 0o711)
    yield tmp
    assert workarea.remove_tree(tmp) == []  # TemporaryDirectory's cleanup recurses: a deep chain stops it


@pytest.fixture
def host_file():
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="oss-workarea-host-") as tmp:
        path = Path(tmp) / "keep.txt"
        path.write_text("keep me\n")
        os.chmod(tmp, 0o755)
        os.chmod(path, 0o644)
        yield path


def chain(top: Path, depth: int) -> None:
    fd = os.open(top, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)


def test_remove_tree_copes_with_what_a_row_leaves(build, host_file):
    top = build / "row"
    top.mkdir()
    chain(top, DEPTH)
    (top / "closed" / "inner").mkdir(parents=True)
    (top / "closed" / "inner" / "file").write_text("x")
    os.chmod(top / "closed" / "inner", 0)
    os.chmod(top / "closed", 0)
    os.symlink(host_file, top / "link")
    os.symlink(host_file.parent, top / "folder-link")
    os.mkfifo(top / "fifo")
    assert workarea.remove_tree(top) == []
    assert not top.exists() and host_file.read_text() == "keep me\n"
    assert workarea.remove_tree(top) == []  # nothing there: nothing to do


def test_remove_tree_reports_what_it_cannot_remove():
    build = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="oss-workarea-"))  # a file system with chattr (not tmpfs)
    top = build / "row"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "stuck").write_text("x")
    stuck = subprocess.run(["chattr", "+i", str(top / "sub" / "stuck")], capture_output=True)
    if stuck.returncode != 0:
        pytest.skip(f"cannot make an undeletable file here (chattr +i: {stuck.stderr.decode().strip()})")
    try:
        failures = workarea.remove_tree(top)
        assert failures == ["sub/stuck: Operation not permitted", "sub: Directory not empty"]
        workarea.discard(top)  # moved aside, so the row's folder name is free
        assert not top.exists() and len(list(build.glob(".stale-row-*/sub/stuck"))) == 1
    finally:
        for stuck in build.glob("*/sub/stuck"):
            subprocess.run(["chattr", "-i", str(stuck)], check=True)
        assert workarea.remove_tree(build) == []


def test_give_walks_deep_chains_and_never_follows_links(build, host_file):
    if not ROOT:
        pytest.skip("only root hands folders to another uid")
    top = build / "row"
    top.mkdir()
    chain(top, DEPTH)
    os.symlink(host_file, top / "link")
    workarea.give(top, 12345)
    deepest = os.open(top, os.O_RDONLY)
    for _ in range(DEPTH):
        inner = os.open("d", os.O_RDONLY, dir_fd=deepest)
        os.close(deepest)
        deepest = inner
    assert os.fstat(deepest).st_uid == 12345 and os.lstat(top / "link").st_uid == 0  # links are left alone
    os.close(deepest)
    assert host_file.stat().st_uid == 0


@pytest.mark.parametrize("forge", ["symlink", "folder", "garbage", "huge", "types", "list", "fifo"])
def test_a_forged_marker_means_no_marker(build, host_file, forge):
    path = build / MARKER
    good = {"digest": "d", "toolchain": "t", "seconds": 1.5}
    if forge == "symlink":
        (build / "elsewhere.json").write_text(json.dumps(good))
        os.symlink(build / "elsewhere.json", path)
    elif forge == "folder":
        path.mkdir()
    elif forge == "garbage":
        path.write_bytes(b"\xff{not json")
    elif forge == "huge":
        path.write_text(json.dumps({**good, "pad": "x" * 10000}))
    elif forge == "types":
        path.write_text(json.dumps({**good, "seconds": "1.5"}))
    elif forge == "list":
        path.write_text("[1, 2]")
    else:
        os.mkfifo(path)
    assert Executor._marker(build, "d", "t") is None
    (build / "ok").mkdir()
    (build / "ok" / MARKER).write_text(json.dumps(good))
    assert Executor._marker(build / "ok", "d", "t") == 1.5


PY_SOLUTION = "def f():\n    return 1\n"


def python_job(key: int, host: Path) -> Job:
    tests = f"from solution import f\nHOST = {str(host)!r}\n{HOSTILE}\nassert f() == 1\n"
    return Job(key, "python", PY_SOLUTION, tests)


def test_hostile_rows_in_the_host_folder_do_not_stop_the_build(build, host_file):
    """NoSandbox runs the tests in the row's host folder: what they leave is cleaned up by the executor."""
    jobs = [python_job(1, host_file), Job(2, "python", PY_SOLUTION, "from solution import f\nassert f() == 1\n")]
    for attempt in range(2):  # a rerun over the same build folder goes on too
        executor = Executor(NoSandbox(), LIMITS, workers=1, build_dir=build)
        results = {job.key: result.status for job, result in executor.run(jobs)}
        assert results == {1: "pass", 2: "pass"}, attempt
        if attempt == 0:
            executor.forget(1)
            assert not (build / "1").exists()
    assert host_file.read_text() == "keep me\n"
    assert workarea.remove_tree(build) == []


@pytest.mark.skipif(toolchains.find("cpp") is None, reason="g++ is missing")
def test_a_forged_marker_in_the_host_folder_is_compiled_again(build):
    """With NoSandbox a C++ row's tests replace its marker by a link to a planted one (right digest and toolchain,
    fake seconds): the rerun does not follow it and compiles again."""
    planted = build / "planted.json"
    tests = f"""
    #include <cassert>
    #include <unistd.h>
    int main() {{
        unlink(".compiled.json");
        symlink("{planted}", ".compiled.json");
        assert(solve() == 2);
        return 0;
    }}
    """
    job = Job(3, "cpp", "int solve() { return 2; }\n", tests)
    toolchain = toolchains.find("cpp")
    digest = toolchain.plan(job.solution, job.tests, LIMITS).digest()
    planted.write_text(json.dumps({"digest": digest, "toolchain": toolchain.version, "seconds": 123456}))
    first = Executor(NoSandbox(), LIMITS, workers=1, build_dir=build).run_one(job)
    assert first.status == "pass" and os.path.islink(build / "3" / MARKER)
    again = Executor(NoSandbox(), LIMITS, workers=1, build_dir=build).run_one(job)
    assert again.status == "pass" and again.seconds < 1000  # compiled again, not the planted 123456 s


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is missing")
def test_what_bwraps_compile_step_leaves_does_not_stop_the_build(build, host_file):
    """A compile step writes into the row's host folder (as the slot uid, as root): a hostile one leaves the same
    things; laying the row out again, forgetting it and removing the build folder all go on."""
    folder = build / "4"
    folder.mkdir()
    sandbox = Bwrap()
    script = HOSTILE.replace("os.symlink(HOST", "os.symlink('/etc/passwd'").replace("os.link(HOST", "os.link('/x'")
    done = sandbox.run(["/usr/bin/python3", "-c", script], folder, LIMITS, writable_host=True)
    assert done.returncode == 0, done.output
    executor = Executor(sandbox, LIMITS, workers=1, build_dir=build)
    good = Job(4, "python", PY_SOLUTION, "from solution import f\nassert f() == 1\n")
    assert executor.run_one(good).status == "pass"
    assert sorted(p.name for p in folder.iterdir()) == ["_oss_runner.py", "solution.py", "test_solution.py"]
    done = sandbox.run(["/usr/bin/python3", "-c", script], folder, LIMITS, writable_host=True)
    executor.forget(4)
    assert not folder.exists() and list(build.iterdir()) == []

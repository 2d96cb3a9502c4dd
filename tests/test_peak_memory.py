"""The quickstart's peak-memory sampler: the resident memory of a whole process tree, children included."""

import subprocess
import sys

from oss_runbooks.peak_memory import main, read_peak, tree_rss

MIB = 2**20
# a parent that starts a child holding 300 MiB, both sleeping a while before they exit
TREE = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; x = bytearray(300 * 2**20); time.sleep(2.5)'])\n"
    "time.sleep(3)\n"
    "child.wait()\n"
)


def test_the_peak_counts_the_children(tmp_path):
    peak_file = tmp_path / "peak"
    parent = subprocess.Popen([sys.executable, "-c", TREE])
    try:
        assert main([str(parent.pid), str(peak_file), "--interval", "0.2"]) == 0  # returns when the tree is gone
    finally:
        parent.wait(timeout=30)
    peak = read_peak(peak_file)
    assert peak is not None and peak > 300 * MIB
    assert tree_rss(parent.pid) == 0  # gone


def test_no_file_no_peak(tmp_path):
    assert read_peak(tmp_path / "missing") is None

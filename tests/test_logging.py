"""The entry points' logging: a library warning (the Hub's retries) prints once, not once per handler."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUPS = {
    "builder": "from dataset_builder.cli import main; main(['seeds', '--not_a_field', '1'])",
    "eval": "from eval.__main__ import cli; cli(['--not_a_field', '1'])",
    "train_sft, generate": "from oss_common.logs import configure_logging; configure_logging()",
}


@pytest.mark.parametrize("setup", SETUPS.values(), ids=SETUPS.keys())
def test_hub_and_datasets_warnings_print_once(setup):
    script = textwrap.dedent(
        f"""
        {setup}
        from huggingface_hub.utils import _http
        import datasets.utils.file_utils
        _http.logger.warning("Retrying in 1s [Retry 1/5].")
        datasets.utils.file_utils.logger.warning("Got disconnected from remote data host.")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("Retrying in 1s [Retry 1/5].") == 1, done.stderr
    assert done.stderr.count("Got disconnected from remote data host.") == 1, done.stderr

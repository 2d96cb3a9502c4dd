"""The CPU twin of the two-stage runbook, end to end: the quickstart's two training commands, as it prints them, on a
tiny model; stage 1 on OSS-Instruct rows, stage 2 from stage 1's output."""

import json
import os
import subprocess

from tests.helpers.runbooks import BIN, ROOT, commands, kind, run_runbook
from tests.helpers.tiny_model import build_tiny_model


def test_cpu_runbook_runs_both_stages(tmp_path):
    model = build_tiny_model(tmp_path / "base")
    oss = tmp_path / "oss.jsonl"
    oss.write_text(
        "".join(json.dumps({"problem": f"Return {i}.", "solution": f"return {i}"}) + "\n" for i in range(8))
    )
    evol = tmp_path / "evol.jsonl"
    evol.write_text("".join(json.dumps({"instruction": f"Say {i}.", "response": str(i)}) + "\n" for i in range(8)))
    out = tmp_path / "out"
    variables = {  # the training steps only: no data built (the rows above instead), nothing run after them
        "BASE_MODEL": str(model),
        "BUILD_OSS_INSTRUCT": "0",
        "BUILD_EVOL_INSTRUCT": "0",
        "STAGE1_OUTPUT_DIR": str(out / "stage1"),
        "STAGE2_OUTPUT_DIR": str(out / "stage2"),
        "EVAL_OUTPUT_DIR": str(tmp_path / "eval"),
    }
    planned = run_runbook("quickstart.sh", variables)
    assert planned.returncode == 0, planned.stderr
    stages = {kind(argv): argv for argv in commands(planned.stdout) if kind(argv) in ("stage1", "stage2")}
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")  # the environment's `accelerate`
    stderr = ""
    for stage, data in (("stage1", oss), ("stage2", evol)):
        extra = ["--dataset_name", str(data), "--max_steps", "2", "--save_strategy", "steps", "--save_steps", "1"]
        done = subprocess.run([*stages[stage], *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        stderr += done.stderr
    for stage in ("stage1", "stage2"):
        state = json.loads((out / stage / "trainer_state.json").read_text())
        assert state["global_step"] == 2
        assert (out / stage / "chat_template.jinja").exists()
    # stage 2 started from stage 1's output, not from the base model
    models = [line.split("Model: ")[1].split(" (")[0] for line in stderr.splitlines() if "Model: " in line]
    assert models == [str(model), str(out / "stage1")]
    assert "Started from the local checkpoint `stage1 (local)`" in (out / "stage2" / "README.md").read_text()

"""Every command in the README's ```bash blocks is exercised here, so the README cannot rot.

Each command is read the way a shell would (continuation lines joined, comments dropped, `VAR=value` prefixes split
off) and handed to the real thing it names: the builder's config loader, accelerate's launcher and train_sft.py's
TrlParser, generate.py's and `python -m eval`'s parsers, the runbooks with DRY_RUN=1 (whose own printed commands are
parsed too), the Makefile, the Slurm script, the cost estimator (whose table the README must quote verbatim). Commands
of other tools (vLLM, git, the `hf` CLI) are listed in EXTERNAL: a new one fails until it is looked at here.
"""

import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.helpers.runbooks import BIN, ROOT, commands, isolated, kind, run_runbook, value

README = ROOT / "README.md"
# placeholders of the README's synopses, and what stands for them here
PLACEHOLDERS = {
    "COMMAND": "build",
    "RECIPE.yaml": "recipes/oss_instruct/quickstart.yaml",
    "[--FIELD VALUE ...]": "--seed 1",
}
# other tools' commands the README shows, by their first words
EXTERNAL = {
    ("hf", "auth", "login"),
    ("export", "OPENAI_API_KEY=sk-..."),
    ("vllm", "serve"),
    ("python", "-m", "vllm.entrypoints.openai.run_batch"),
    ("git", "clone"),
    ("python", "-m", "venv"),
    ("~/bigcode-venv/bin/pip", "install"),
    ("mkdir", "-p", "logs"),
}


def readme_commands() -> list[tuple[dict, list[str]]]:
    """(environment prefix, argv) of every command in the README's bash blocks, in order."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for placeholder, stand_in in PLACEHOLDERS.items():
                line = line.replace(placeholder, stand_in)
            words = shlex.split(line, comments=True)
            for part in _split(words, "&&"):
                env = {}
                while part and re.fullmatch(r"[A-Z_]+=.*", part[0]) and len(part) > 1:
                    key, _, val = part.pop(0).partition("=")
                    env[key] = val
                if part:
                    found.append((env, part))
    return found


def _split(words: list[str], separator: str) -> list[list[str]]:
    parts, current = [], []
    for word in words:
        if word == separator:
            parts.append(current)
            current = []
        else:
            current.append(word)
    return [*parts, current]


COMMANDS = readme_commands()


def _ids():
    return [" ".join(argv)[:80] for _, argv in COMMANDS]


def _program(argv: list[str]) -> str:
    if argv[0] == "python":
        return argv[2] if argv[1] == "-m" else argv[1]
    return argv[0]


def test_the_readme_shows_commands_of_every_kind():
    programs = {_program(argv) for _, argv in COMMANDS}
    expected = {"make", "accelerate", "bash", "sbatch", "dataset_builder", "eval", "generate.py"}
    assert expected <= programs, expected - programs
    assert "oss_runbooks.estimate" in programs


def test_set_up_holds_exactly_the_two_commands_ci_runs():
    text = README.read_text(encoding="utf-8")
    setup = text[text.index("## Set up") :].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", setup, re.S)
    shown = [shlex.split(line, comments=True) for line in block.splitlines()]
    assert shown == [["make", "quickstart"], ["make", "test"]]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M) and re.search(r"^make quickstart$", ci, re.M)


def test_after_set_up_activates_the_environment_make_created():
    sections = README.read_text(encoding="utf-8").split("\n## ")
    titles = [section.split("\n", 1)[0] for section in sections]
    after = titles.index("Set up") + 1
    assert titles[after] == "After set-up"
    first_block = re.findall(r"```bash\n(.*?)```", sections[after], re.S)[0]
    assert [shlex.split(line) for line in first_block.splitlines()] == [["source", ".venv/bin/activate"]]


@pytest.mark.parametrize("env,argv", COMMANDS, ids=_ids())
def test_readme_command(env, argv, tmp_path):
    for flag in ("--config", "--config_file"):
        if flag in argv and argv[0] != "sbatch":
            assert (ROOT / value(argv, flag)).is_file(), f"{flag} {value(argv, flag)} does not exist"
    if argv[0] == "make":
        _make(argv)
    elif argv[:3] == ["python", "-m", "dataset_builder"]:
        _builder(argv)
    elif argv[:2] == ["accelerate", "launch"]:
        _train(argv)
    elif argv[:2] in (["python", "train_grpo.py"], ["python", "train_dpo.py"]):
        _train(["accelerate", "launch", *argv[1:]])
    elif argv[:2] == ["python", "generate.py"]:
        from generate import make_parser

        (args,) = make_parser().parse_args_and_config(argv[2:])
        assert args.model_name_or_path
    elif argv[:3] == ["python", "-m", "eval"]:
        from eval.__main__ import make_parser

        (config,) = make_parser().parse_args_and_config(_eval_files(argv[3:], tmp_path))
        assert config.model_name_or_path
    elif argv[0] == "bash":
        _runbook(env, argv, tmp_path)
    elif argv[0] == "sbatch":
        _slurm(argv)
    elif argv[:3] == ["python", "-m", "oss_runbooks.estimate"]:
        _estimate(argv)
    elif argv[0] == "source":
        _activate(argv)
    else:
        assert any(tuple(argv[: len(prefix)]) == prefix for prefix in EXTERNAL), f"not exercised: {argv}"
        if argv[0] == "hf":
            assert subprocess.run([BIN / "hf", *argv[1:], "--help"], capture_output=True).returncode == 0


def _eval_files(args: list[str], tmp_path) -> list[str]:
    """The README's example files for `python -m eval`, made real: a generations file in the harness's format and
    the MultiPL-E fixture as the offline data."""
    args = list(args)
    if "--load_generations_path" in args:
        generations = tmp_path / Path(args[args.index("--load_generations_path") + 1]).name
        generations.write_text('[["int main() { return 0; }"]]')
        args[args.index("--load_generations_path") + 1] = str(generations)
    if "--harness_offline_data" in args:
        args[args.index("--harness_offline_data") + 1] = str(ROOT / "tests" / "fixtures" / "multipl-e")
    return args


def _make(argv):
    targets = argv[1:]
    # -B: what the targets run on a fresh checkout, even where their files are already made here
    done = subprocess.run(["make", "-n", "-B", *targets], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    if "quickstart" in targets:
        assert "recipes/runbooks/quickstart.sh" in done.stdout
    if "test" in targets:
        assert "pytest" in done.stdout and "not slow and not gpu" in done.stdout
    if "harness" in targets:
        assert "nvidia-bigcode-eval==" in done.stdout


def _builder(argv):
    from dataset_builder.cli import COMMANDS as BUILDER_COMMANDS
    from dataset_builder.cli import parse_config

    assert argv[3] in BUILDER_COMMANDS, argv
    config = parse_config(argv[4:])
    assert config.dataset_name


def _train(argv):
    import torch
    from accelerate.commands.launch import launch_command_parser

    import train_dpo
    import train_grpo
    import train_sft

    launch = launch_command_parser().parse_args(argv[2:])
    scripts = {"train_sft.py": train_sft, "train_dpo.py": train_dpo, "train_grpo.py": train_grpo}
    assert launch.training_script in scripts, launch.training_script
    cpu = [] if torch.cuda.is_available() else ["--use_cpu", "true", "--bf16", "false"]
    if launch.training_script == "train_grpo.py" and not torch.cuda.is_available():
        cpu += ["--use_vllm", "false"]  # vLLM generation needs a GPU
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        script_args, training_args, model_args = (
            scripts[launch.training_script].make_parser().parse_args_and_config(launch.training_script_args + cpu)
        )
    assert script_args.dataset_name and model_args.model_name_or_path and training_args.output_dir


def _runbook(env, argv, tmp_path):
    script = argv[1]
    assert script.startswith("recipes/runbooks/") and (ROOT / script).is_file(), script
    done = run_runbook(script.removeprefix("recipes/runbooks/"), {**isolated(tmp_path), **env}, *argv[2:])
    assert done.returncode == 0, done.stderr
    printed = commands(done.stdout)
    assert printed and all(kind(command) for command in printed)
    for command in printed:
        if command[:2] == ["accelerate", "launch"]:
            _train(command)
        elif command[:3] == ["python", "-m", "dataset_builder"]:
            _builder(command)
    if env.get("BUILD_OSS_INSTRUCT") == "0":
        assert not any(command[3:4] == ["build"] for command in printed if command[:2] == ["python", "-m"])


def _slurm(argv):
    script, recipe, config = argv[-3:]
    assert subprocess.run(["bash", "-n", ROOT / script]).returncode == 0
    assert (ROOT / recipe).is_file() and (ROOT / "recipes" / "accelerate_configs" / f"{config}.yaml").is_file()


def _activate(argv):
    (script,) = argv[1:]
    venv = re.search(r"^VENV \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert script == f"{venv}/bin/activate", f"the Makefile creates {venv}"


def _estimate(argv):
    done = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = README.read_text(encoding="utf-8")
    quoted = text.split("<!-- oss_runbooks.estimate --markdown: begin -->\n", 1)[1]
    quoted = quoted.split("<!-- oss_runbooks.estimate --markdown: end -->")[0]
    stale = "README's cost table is stale: paste `python -m oss_runbooks.estimate --markdown` again"
    assert quoted.strip() == done.stdout.strip(), stale

"""The model card of a GRPO run (`train_grpo.py`): what it started from, the data, the reward and how it moved."""

from __future__ import annotations

from pathlib import Path

REWARD_TEXT = (
    "`code_reward` (`oss_rl/reward.py`): each completion's code block in the row's language runs with the row's "
    "teacher-written tests in the builder's sandbox (bubblewrap, no network, per-run limits); 1.0 when the tests ran "
    "to their end with every check held (the builder's verdict channel, never only an exit status of 0), else 0.0 "
    "(no code block, a failure, a timeout, a crash)."
)


def _front(script_args, training_args, model_args, method: str) -> list[str]:
    """The card's metadata block and title."""
    from huggingface_hub import ModelCardData

    data = ModelCardData(
        base_model=model_args.model_name_or_path,
        datasets=[script_args.dataset_name] if "/" in script_args.dataset_name else None,
        library_name="transformers",
        tags=["trl", method, "code", "oss-instruct"],
    )
    name = Path(training_args.hub_model_id or training_args.output_dir).name
    return ["---", data.to_yaml(), "---", "", f"# {name}", ""]


def render(script_args, training_args, model_args, log_history: list[dict], elapsed_s: float) -> str:
    """The card of a GRPO run with the code reward."""
    from huggingface_hub import ModelCard

    rewards = [entry["rewards/code_reward/mean"] for entry in log_history if "rewards/code_reward/mean" in entry]
    moved = (
        f"mean code reward {rewards[0]:.3f} at the first logged step, {rewards[-1]:.3f} at the last "
        f"({len(rewards)} logged steps)"
        if rewards
        else "no reward was logged"
    )
    lines = [
        *_front(script_args, training_args, model_args, "grpo"),
        (
            f"`{model_args.model_name_or_path}` trained with TRL's `GRPOTrainer` on the prompts of a verified "
            f"OSS-Instruct build, rewarded by running its completions against each row's tests."
        ),
        "",
        "## Data",
        "",
        (
            f"- Dataset: `{script_args.dataset_name}` (split `{script_args.dataset_train_split}`, revision "
            f"`{script_args.dataset_revision or 'main'}`), the Magicoder prompt around each row's problem; "
            f"{'only rows whose own solution passed' if script_args.only_passing else 'every row with tests'}."
        ),
        "",
        "## Reward",
        "",
        REWARD_TEXT,
        "",
        (
            f"- Sandbox `{script_args.reward_sandbox}`, {script_args.reward_exec_timeout} s and "
            f"{script_args.reward_exec_memory_mb} MiB per completion."
        ),
        f"- {moved}.",
        "",
        "## Training",
        "",
        (
            f"- {training_args.num_generations} completions per prompt, at most {training_args.max_completion_length} "
            f"tokens, temperature {training_args.temperature}; learning rate {training_args.learning_rate}, beta "
            f"{training_args.beta}, {training_args.max_steps if training_args.max_steps > 0 else 'all'} steps; vLLM "
            f"generation: {training_args.use_vllm}."
        ),
        f"- {elapsed_s / 60:.1f} minutes.",
    ]
    return str(ModelCard("\n".join(lines)))


def write_model_card(output_dir, script_args, training_args, model_args, log_history, elapsed_s) -> Path:
    path = Path(output_dir) / "README.md"
    path.write_text(render(script_args, training_args, model_args, log_history, elapsed_s) + "\n", encoding="utf-8")
    return path


def render_dpo(script_args, training_args, model_args, log_history: list[dict], elapsed_s: float) -> str:
    """The card of a DPO run on a verified build's preference pairs."""
    from huggingface_hub import ModelCard

    margins = [entry["rewards/margins"] for entry in log_history if "rewards/margins" in entry]
    moved = (
        f"reward margin {margins[0]:.3f} at the first logged step, {margins[-1]:.3f} at the last ({len(margins)} "
        "logged steps)"
        if margins
        else "no reward margin was logged"
    )
    lines = [
        *_front(script_args, training_args, model_args, "dpo"),
        (
            f"`{model_args.model_name_or_path}` trained with TRL's `DPOTrainer` on (chosen, rejected) pairs of a "
            "verified OSS-Instruct build: for one problem, a solution that passed the teacher-written tests in the "
            "builder's sandbox and one that did not."
        ),
        "",
        "## Data",
        "",
        (
            f"- Dataset: `{script_args.dataset_name}`, config `{script_args.dataset_config}` (split "
            f"`{script_args.dataset_train_split}`, revision `{script_args.dataset_revision or 'main'}`): the "
            "Magicoder prompt around the problem, a passing answer as `chosen`, a failing one as `rejected`."
        ),
        "",
        "## Training",
        "",
        (
            f"- beta {training_args.beta}, loss {training_args.loss_type}, learning rate "
            f"{training_args.learning_rate}, {training_args.max_steps if training_args.max_steps > 0 else 'all'} "
            f"steps; {moved}."
        ),
        f"- {elapsed_s / 60:.1f} minutes.",
    ]
    return str(ModelCard("\n".join(lines)))


def write_dpo_card(output_dir, script_args, training_args, model_args, log_history, elapsed_s) -> Path:
    path = Path(output_dir) / "README.md"
    text = render_dpo(script_args, training_args, model_args, log_history, elapsed_s)
    path.write_text(text + "\n", encoding="utf-8")
    return path

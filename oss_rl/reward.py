"""A code reward for TRL's `GRPOTrainer`, run locally in the builder's sandbox, in every language with a toolchain.

`CodeReward()` is a reward function (`GRPOTrainer(reward_funcs=[CodeReward()])`): for a batch it takes each completion
(text, or TRL's conversational `[{"role": "assistant", "content": ...}]`), extracts the code block in the row's
language (`lang` column, `dataset_builder.code_blocks.code_in`), runs it with the row's tests (`tests` column) through
the builder's executor (`dataset_builder.execution`: bubblewrap, the verdict runners, per-row limits, a pool of
workers, so a batch is scored in parallel) and returns 1.0 when the run's status is `pass`, else 0.0. A pass means
what it means for the builder's verified data: the tests ran to their end with every check held, never only an exit
status of 0. A completion without a code block (`no_code`), a row without tests (`no_tests`), a timeout, a crash and
an error of the executor itself score 0.0 and are logged; only a batch without `tests` and `lang` columns raises.

The executor is made once, when the reward is made (the sandbox is checked then: a missing bubblewrap stops the run
before any step), and reused by every step; `close()` (or the end of the process) removes its build folder. TRL logs
the mean as `rewards/code_reward/mean`; each step also logs the share of each status (`code_reward/<status>`) and
adds each completion's status to the completions table (`exec_status`).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import Counter, deque

logger = logging.getLogger(__name__)

NO_CODE = "no_code"
NO_TESTS = "no_tests"
ERROR = "reward_error"
HISTORY = 4096  # completions kept in `CodeReward.history`


def completion_text(completion) -> str:
    """The text of a completion: a string, or the last message of a conversational one."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content") or "")
    return ""


class CodeReward:
    """1.0 when the completion's code passes the row's tests in the sandbox, else 0.0 (see the module docstring)."""

    __name__ = "code_reward"  # the name TRL logs the reward under

    def __init__(
        self,
        sandbox: str = "bwrap",
        exec_timeout: float = 10.0,
        exec_memory_mb: int = 2048,
        workers: int | None = None,
        typescript_typecheck: str = "report",
    ):
        from dataset_builder.execution.executor import Executor
        from dataset_builder.execution.sandbox import SANDBOXES, Limits

        if sandbox not in SANDBOXES:
            raise ValueError(f"Unknown sandbox {sandbox!r}: use bwrap (bubblewrap) or none (no isolation).")
        self.sandbox = SANDBOXES[sandbox]()
        self.sandbox.check()  # a SandboxError names the fix, before any training step
        if sandbox == "none":
            logger.warning("code_reward: sandbox none — completions run WITHOUT isolation; only for code you trust.")
        memory = exec_memory_mb << 20
        run = Limits(wall_seconds=exec_timeout, cpu_seconds=math.ceil(exec_timeout), memory_bytes=memory)
        compile_ = Limits(wall_seconds=60.0, cpu_seconds=60, memory_bytes=max(memory, 2 << 30))
        options = {"typescript_typecheck": typescript_typecheck}
        self.executor = Executor(self.sandbox, run, compile_, workers=workers, options=options)
        self._keys = itertools.count()
        # the last HISTORY completions scored, in order: (status, reward, language, code or None, tests)
        self.history: deque[tuple[str, float, str, str | None, str]] = deque(maxlen=HISTORY)

    def __call__(self, prompts, completions, tests=None, lang=None, log_metric=None, log_extra=None, **kwargs):
        from dataset_builder.code_blocks import code_in
        from dataset_builder.execution.executor import Job

        n = len(completions)
        if tests is None or lang is None:
            raise ValueError(
                "code_reward needs the dataset's `tests` and `lang` columns (a verified build's rows): "
                f"the batch has {sorted(kwargs)}."
            )
        statuses: list[str | None] = [None] * n
        pairs = zip(completions, lang, strict=True)
        codes = [code_in(completion_text(c), language) if language else None for c, language in pairs]
        jobs = []
        for i, (code, row_tests, language) in enumerate(zip(codes, tests, lang, strict=True)):
            if not row_tests:
                statuses[i] = NO_TESTS
            elif not code:
                statuses[i] = NO_CODE
            else:
                jobs.append(Job(f"reward-{next(self._keys)}", language, code, row_tests))
        at = {job.key: i for i, job in enumerate(jobs)}
        index = [i for i, status in enumerate(statuses) if status is None]
        try:
            for job, result in self.executor.run(jobs):
                statuses[index[at[job.key]]] = result.status
                self.executor.forget(job.key)
        except Exception as err:  # an executor fault: the unscored completions get 0, training goes on
            logger.warning("code_reward: the executor failed (%s: %s); unscored completions get 0", type(err), err)
        statuses = [status or ERROR for status in statuses]
        rewards = [1.0 if status == "pass" else 0.0 for status in statuses]
        self.history.extend(zip(statuses, rewards, lang, codes, tests, strict=True))
        counts = Counter(statuses)
        if log_metric is not None:
            for status, count in counts.items():
                log_metric(f"code_reward/{status}", count / n)
        if log_extra is not None:
            log_extra("exec_status", statuses)
        return rewards

    def close(self) -> None:
        """Remove the build folder and the sandbox's cgroups."""
        from dataset_builder.execution import workarea

        workarea.remove(self.executor.build_dir, "code reward build folder")
        self.sandbox.close()

"""The offline toy teacher with its answer steered into the two sections the prompt asks for.

SmolLM2-135M cannot follow the OSS-Instruct prompt: asked plainly, it writes prose without the `[Problem Description]`
and `[Solution]` sections and the parser rejects every answer. To let the quickstart build a (tiny, low-quality)
dataset offline, this backend sends the same system and user messages, rendered with the model's own chat template,
as two `/v1/completions` requests whose prompts end inside the answer:

1. `... <assistant> [Problem Description]\\n` — the model's first paragraph becomes the problem;
2. `... <assistant> [Problem Description]\\n{problem}\\n\\n[Solution]\\n```` — the model writes code up to the closing
   fence, or runs out of tokens (`finish_reason: length`, rejected by the parser like any cut answer). The fence is
   also cut here, on the client: `transformers serve` with continuous batching does not apply `stop`.

The journal row is the whole answer as a teacher would have written it, with both requests' tokens. It is used only
for the local toy teacher (`local_teacher_guided`); a real teacher always gets the paper's prompt alone.

`GuidedLocalTestsTeacher` does the same for the tests stage's prompt: one completion whose prompt ends inside a code
fence of the row's language (`Request.language`); `GuidedLocalSolutionsTeacher` for the solutions stage's.
"""

from __future__ import annotations

import time

from dataset_builder.teacher.base import Request, TeacherError
from dataset_builder.teacher.openai_api import OpenAITeacher, fatal_errors, fatal_message

PROBLEM_HEADER = "[Problem Description]\n"
SOLUTION_HEADER = "\n\n[Solution]\n```"
FENCE = "```"
PROBLEM_MAX_TOKENS = 64


def first_paragraph(text: str) -> str:
    """The text up to its first blank line, without surrounding whitespace."""
    return text.strip().split("\n\n", 1)[0].strip()


def cut_code(text: str, finish_reason: str | None) -> tuple[str, str | None]:
    """The code up to the first closing fence, and the finish reason: `stop` whenever a fence was written."""
    code, fence, _ = text.partition(FENCE)
    return code.rstrip(), "stop" if fence else finish_reason


def answer(problem: str, code: str, finish_reason: str | None) -> str:
    """The answer as a teacher following the prompt would have written it; the fence is closed only when it stopped."""
    closing = f"\n{FENCE}" if finish_reason == "stop" else ""
    return f"{PROBLEM_HEADER}{problem}{SOLUTION_HEADER}{code}{closing}"


class GuidedLocalTeacher(OpenAITeacher):
    """Two completions per seed against the local server; the prompt is rendered here with the model's template."""

    _tokenizer = None

    def render(self, request: Request) -> str:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.settings.model)
            if not self._tokenizer.chat_template:
                raise TeacherError(
                    f"{self.settings.model} has no chat template: the guided local teacher needs one to render the "
                    "prompt. Set `local_teacher_guided: false`."
                )
        return self._tokenizer.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=True)

    async def _complete(self, client, prompt: str, max_tokens: int, request: Request, stop: list[str] | None):
        s = self.settings
        try:
            return await client.completions.create(
                model=s.model,
                prompt=prompt,
                max_tokens=max_tokens,
                temperature=s.temperature,
                top_p=s.top_p,
                seed=request.seed,
                stop=stop,
            )
        except fatal_errors() as err:
            raise TeacherError(fatal_message(err, s.base_url, s.model)) from err

    async def _one(self, client, request: Request) -> dict:
        started = time.monotonic()
        prompt = self.render(request) + PROBLEM_HEADER
        first = await self._complete(client, prompt, min(PROBLEM_MAX_TOKENS, request.max_tokens), request, None)
        problem = first_paragraph(first.choices[0].text)
        prompt += problem + SOLUTION_HEADER
        second = await self._complete(client, prompt, request.max_tokens, request, [FENCE])
        code, finish_reason = cut_code(second.choices[0].text, second.choices[0].finish_reason)
        usages = [c.usage for c in (first, second) if c.usage is not None]
        return {
            "raw_index": request.raw_index,
            "response": answer(problem, code, finish_reason),
            "finish_reason": finish_reason,
            "teacher_model": second.model,
            "system_fingerprint": second.system_fingerprint,
            "prompt_tokens": sum(u.prompt_tokens for u in usages) if usages else None,
            "completion_tokens": sum(u.completion_tokens for u in usages) if usages else None,
            "latency_s": time.monotonic() - started,
            "attempts": 1,
        }


ONE_CHECK_TOKENS = 64  # max_tokens of a started toy test: one line


class GuidedLocalTestsTeacher(GuidedLocalTeacher):
    """The tests stage's toy teacher: one completion per row whose prompt ends inside a code fence of the row's
    language (`... <assistant> ```python\\n`), started as `prompts.TOY_TESTS_STARTERS` says, so the model writes code
    up to the closing fence (or the starter's end). The tests it writes are toy ones; they exercise the pipeline."""

    def starters(self) -> dict[str, tuple[str, str]]:
        """{language: (the code the answer starts with, where it is cut)}."""
        from dataset_builder.prompts import TOY_TESTS_STARTERS

        return TOY_TESTS_STARTERS

    async def _one(self, client, request: Request) -> dict:
        from dataset_builder.prompts import TEST_LANGUAGES

        started = time.monotonic()
        start, end = self.starters().get(request.language, ("", FENCE))
        opening = f"{FENCE}{TEST_LANGUAGES[request.language][1]}\n{start}"
        limit = min(request.max_tokens, ONE_CHECK_TOKENS) if start else request.max_tokens
        completion = await self._complete(client, self.render(request) + opening, limit, request, [FENCE])
        text, cut, _ = completion.choices[0].text.partition(end)
        code, finish_reason = cut_code(text, "stop" if cut else completion.choices[0].finish_reason)
        closing = f"\n{FENCE}" if finish_reason == "stop" else ""
        usage = completion.usage
        return {
            "raw_index": request.raw_index,
            "response": f"{opening}{code}{closing}",
            "finish_reason": finish_reason,
            "teacher_model": completion.model,
            "system_fingerprint": completion.system_fingerprint,
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
            "latency_s": time.monotonic() - started,
            "attempts": 1,
        }


class GuidedLocalSolutionsTeacher(GuidedLocalTestsTeacher):
    """The solutions stage's toy teacher: the same completion inside a code fence of the row's language, unstarted:
    the model's code up to the closing fence is the sample (a toy one)."""

    def starters(self) -> dict[str, tuple[str, str]]:
        return {}

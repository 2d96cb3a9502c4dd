"""In-process vLLM (`vllm.LLM.chat`) for machines with GPUs: no server, no per-request HTTP.

Requests are generated `vllm_chunk_size` (`TeacherSettings.chunk_size`) at a time and every row of a chunk is
journaled as soon as the chunk finishes, so a crash loses at most one chunk. Each request carries its own seed
(`seed + raw_index`), as on the API. `teacher_model` is a Hugging Face model id or local path; `system_fingerprint`
records the vLLM version.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator

from dataset_builder.teacher.base import Accounting, Request, TeacherBackend, TeacherError


def chunks(requests: Iterable[Request], size: int) -> Iterator[list[Request]]:
    iterator = iter(requests)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class VLLMTeacher(TeacherBackend):
    def run(self, requests: Iterable[Request], total: int, journal, accounting: Accounting, progress) -> None:
        try:
            import vllm
        except ImportError as err:
            raise TeacherError(
                f'teacher_backend vllm needs vLLM (and a CUDA GPU): pip install -e ".[vllm]" ({err}). Or serve the '
                "model with `vllm serve` and use teacher_backend openai with teacher_base_url."
            ) from err

        s = self.settings
        try:
            llm = vllm.LLM(model=s.model, seed=s.seed)
        except (OSError, ValueError) as err:
            raise TeacherError(
                f"vLLM could not load teacher_model {s.model!r}: {err}. Set `teacher_model` to a Hugging Face model "
                "id or a local model folder that vLLM supports."
            ) from err
        fingerprint = f"vllm-{vllm.__version__}"
        top_p = s.top_p if s.top_p is not None else 1.0
        for chunk in chunks(requests, s.chunk_size):
            params = [
                vllm.SamplingParams(temperature=s.temperature, top_p=top_p, max_tokens=r.max_tokens, seed=r.seed)
                for r in chunk
            ]
            started = time.monotonic()
            outputs = llm.chat([r.messages for r in chunk], params, use_tqdm=False)
            latency = (time.monotonic() - started) / len(chunk)  # the chunk's wall time per row
            if len(outputs) != len(chunk):
                raise TeacherError(f"vLLM returned {len(outputs)} outputs for {len(chunk)} requests.")
            for request, output in zip(chunk, outputs, strict=True):
                completion = output.outputs[0]
                row = {
                    "raw_index": request.raw_index,
                    "response": completion.text,
                    "finish_reason": completion.finish_reason,
                    "teacher_model": s.model,
                    "system_fingerprint": fingerprint,
                    "prompt_tokens": len(output.prompt_token_ids),
                    "completion_tokens": len(completion.token_ids),
                    "latency_s": latency,
                    "attempts": 1,
                }
                journal.append(row)
                accounting.add(row)
                progress.update(1)
            progress.set_postfix(accounting.postfix(), refresh=False)

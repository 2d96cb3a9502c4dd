"""Teacher backends behind one interface (`base.TeacherBackend`), imported only when chosen."""

from __future__ import annotations

import importlib

BACKENDS = {
    "openai": "dataset_builder.teacher.openai_api:OpenAITeacher",
    "openai_batch": "dataset_builder.teacher.batch:BatchTeacher",
    "vllm": "dataset_builder.teacher.vllm_backend:VLLMTeacher",
    # not a recipe choice: what the local toy teacher uses when local_teacher_guided (generate.backend_name)
    "guided_local": "dataset_builder.teacher.guided:GuidedLocalTeacher",
    # not a recipe choice either: the tests stage's local toy teacher (stages/tests.backend_name)
    "guided_local_tests": "dataset_builder.teacher.guided:GuidedLocalTestsTeacher",
    # ... nor this: the solutions stage's (stages/solutions.backend_name)
    "guided_local_solutions": "dataset_builder.teacher.guided:GuidedLocalSolutionsTeacher",
}


def get_backend(name: str):
    module, _, cls = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), cls)

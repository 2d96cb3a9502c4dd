"""The body mutators live in the builder (`dataset_builder.execution.mutators`), which scores teacher-written tests
with them; the external benchmarks' evaluation uses the same ones, so both measure test strength alike."""

from dataset_builder.execution.mutators import (  # noqa: F401 - re-exported
    MUTATORS,
    default_return,
    flip_comparison,
    function_end,
    mutants,
    off_by_one,
)

"""One module per language the executor runs; `SPECS` is the table (in the paper's order)."""

from dataset_builder.execution.languages import cpp, csharp, java, php, python, rust, shell, swift, typescript
from dataset_builder.execution.languages.base import Language, Plan

SPECS: dict[str, Language] = {
    module.LANGUAGE.name: module.LANGUAGE
    for module in (python, cpp, java, typescript, shell, csharp, rust, php, swift)
}

__all__ = ["SPECS", "Language", "Plan"]

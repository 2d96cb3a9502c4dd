"""The tests stage's prompt (a harness per language that says what the executor lays out) and the code blocks it
reads back from an answer."""

import pytest

from dataset_builder import code_blocks, prompts

# What the executor lays out per language (execution/toolchains.py): the harness must say it.
HARNESS_MUST_SAY = {
    "python": ["solution.py", "test_solution.py", "from solution import *", "assert", "unittest.main()"],
    "cpp": ["solution.cpp", "test.cpp", "main.cpp", "#include", "int main()", "<cassert>", "renamed"],
    "java": [
        "SolutionTest.java",
        "public class SolutionTest",
        "java -ea SolutionTest",
        "`package` lines are removed",
        "`import` lines are added",
        "System.exit(0)",
    ],
    "typescript": ["main.ts", "node main.js", "do not import the solution", "node:assert", "Throw"],
    "shell": ["solution.sh", "test.sh", "bash test.sh", "source ./solution.sh", "bash ./solution.sh ARGS", "non-zero"],
    "csharp": [
        "Solution.cs",
        "SolutionTests.cs",
        "(no namespace) `public static class SolutionTests`",
        "public static void Main()",
        "C# 7.2",
        "DEBUG and TRACE",
        "System.Numerics",
        "implicit usings",
        "`Debug.Assert`",
    ],
    "rust": ["main.rs", "`fn main` is renamed", "fn main()", "assert!", "assert_eq!"],
    "php": ["solution.php", "test.php", "<?php", "do not require or include solution.php", "exit(1)"],
    "swift": ["main.swift", "swiftc", "top-level code", "precondition"],
}


# --- the prompt ---------------------------------------------------------------------------------------------------


def test_every_language_has_a_harness_naming_the_executors_files():
    assert set(prompts.HARNESS) == set(HARNESS_MUST_SAY) == set(prompts.TEST_LANGUAGES)
    for lang, phrases in HARNESS_MUST_SAY.items():
        for phrase in phrases:
            assert phrase in prompts.HARNESS[lang], (lang, phrase)


@pytest.mark.parametrize("lang", sorted(HARNESS_MUST_SAY))
def test_tests_messages_carry_the_problem_solution_harness_and_fence(lang):
    solution = "```\ncode {with braces}\n```"
    system, user = prompts.tests_messages("  Sum {x}.  ", solution, lang)
    assert system == {"role": "system", "content": prompts.TESTS_SYSTEM}
    text = user["content"]
    assert user["role"] == "user"
    assert "[Problem Description]\nSum {x}.\n\n[Solution]\n" + solution in text
    assert prompts.HARNESS[lang] in text
    language, fence = prompts.TEST_LANGUAGES[lang]
    assert text.endswith(f"one ```{fence} code block.")
    assert f"Use only the {language} standard library" in text
    assert code_blocks.fence_language(fence) == lang  # the block asked for is the one code_in takes


def test_the_papers_prompt_is_unchanged_and_other_languages_get_no_prompt():
    assert prompts.SYSTEM.startswith("You are exceptionally skilled at crafting high-quality programming problems")
    assert prompts.messages("x")[1]["content"].startswith("Please gain inspiration")
    with pytest.raises(ValueError, match="no test harness for language 'go'"):
        prompts.tests_messages("p", "s", "go")


# --- code blocks --------------------------------------------------------------------------------------------------


def test_blocks_follow_commonmark_fences():
    text = (
        'Intro\n```python title="x.py"\nprint(1)\n```\nprose\n'
        "````markdown\n```python\ninner\n```\n````\n"
        "~~~\nbare ``` inside\n~~~\n"
        "  ```c++\n  int x;\n   int y;\n  ```\n"
        "```rs\nfn f() {}\n"
    )
    assert code_blocks.blocks(text) == [
        ('python title="x.py"', "print(1)"),
        ("markdown", "```python\ninner\n```"),
        ("", "bare ``` inside"),
        ("c++", "int x;\n int y;"),  # the opening fence's indent is removed
        ("rs", "fn f() {}"),  # unclosed last fence: taken to the end
    ]
    assert code_blocks.blocks("no fences") == []
    assert code_blocks.blocks("``` ``not a fence\n") == []  # a backtick fence's info has no backtick


@pytest.mark.parametrize(
    ("info", "lang"),
    [
        ("python", "python"),
        ("py", "python"),
        ("Python3", "python"),
        ('python title="x"', "python"),
        ("{.python}", "python"),
        ("c++", "cpp"),
        ("cpp", "cpp"),
        ("cs", "csharp"),
        ("c#", "csharp"),
        ("csharp", "csharp"),
        ("ts", "typescript"),
        ("typescript", "typescript"),
        ("sh", "shell"),
        ("bash", "shell"),
        ("shell", "shell"),
        ("rs", "rust"),
        ("rust", "rust"),
        ("php", "php"),
        ("swift", "swift"),
        ("java", "java"),
        ("", ""),
        ("text", "text"),
    ],
)
def test_fence_language_aliases(info, lang):
    assert code_blocks.fence_language(info) == lang


def test_code_in_takes_the_languages_blocks_else_the_bare_ones():
    answer = "Tests:\n```python\nimport x\n```\nOutput:\n```\n5\n```\n```java\nclass A {}\n```\n```py\nassert 1\n```"
    assert code_blocks.code_in(answer, "python") == "import x\n\nassert 1"
    assert code_blocks.code_in(answer, "java") == "class A {}"
    assert code_blocks.code_in(answer, "rust") == "5"  # only unlabelled blocks: taken
    assert code_blocks.code_in("```bash\necho hi\n```", "shell") == "echo hi"
    assert code_blocks.code_in("```sh\necho hi", "shell") == "echo hi"  # cut off: still the code
    assert code_blocks.code_in("prose only", "python") is None
    assert code_blocks.code_in("```python\n\n```", "python") is None  # an empty block is no code
    assert code_blocks.code_in(None, "python") is None

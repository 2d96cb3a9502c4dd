"""The OSS-Instruct prompt of the Magicoder paper, verbatim (REFERENCE.md §1), and the prompt asking for tests."""

SYSTEM = "You are exceptionally skilled at crafting high-quality programming problems and offering precise solutions."

USER_TEMPLATE = """Please gain inspiration from the following random code snippet to create a high-quality programming problem. Present your output in two distinct sections: [Problem Description] and [Solution].

Code snippet for inspiration:
```
{code}
```

Guidelines for each section:

1. [Problem Description]: This should be **completely self-contained**, providing all the contextual information one needs to understand and solve the problem. Assume common programming knowledge, but ensure that any specific context, variables, or code snippets pertinent to this problem are explicitly included.

2. [Solution]: Offer a comprehensive, **correct** solution that accurately addresses the [Problem Description] you provided."""  # noqa: E501


def messages(code: str) -> list[dict[str, str]]:
    """Chat messages for one seed snippet."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": USER_TEMPLATE.format(code=code)},
    ]


# --- tests for a problem and its solution (execution verification; not in the paper) -----------------------------
# The harness texts say exactly how the executor lays out the files (dataset_builder/execution/toolchains.py): a test
# that imports the solution the wrong way fails for reasons that say nothing about the solution. Keep both in sync.

TESTS_SYSTEM = "You are an expert software tester. You write precise, self-checking tests for programming solutions."

TESTS_USER_TEMPLATE = """Write tests for the following programming problem and its solution, in {language}.

[Problem Description]
{problem}

[Solution]
{solution}

How your tests are run:
{harness}

Requirements:
- Check the behaviour the problem describes, edge cases included, against concrete expected values; a failed check must make the run fail (printing is not checking).
- Use only the {language} standard library: no third-party packages or test frameworks other than the ones named above.
- Keep the tests quick (a few seconds in all); do not read standard input, use the network, or write files outside the current folder.
- Do not repeat or modify the solution.

Answer with the tests alone, in one ```{fence} code block."""  # noqa: E501

# Tests from the problem alone (`tests_from: problem`): the tests check every solution, so they must not be fitted to
# one; they may only use what the problem names.
TESTS_FROM_PROBLEM_TEMPLATE = """Write tests for solutions of the following programming problem, in {language}.

[Problem Description]
{problem}

Every solution written for this problem will be checked by your tests: use only the names, signatures and behaviour the problem describes, not details of one possible implementation.

How your tests are run:
{harness}

Requirements:
- Check the behaviour the problem describes, edge cases included, against concrete expected values; a failed check must make the run fail (printing is not checking).
- Use only the {language} standard library: no third-party packages or test frameworks other than the ones named above.
- Keep the tests quick (a few seconds in all); do not read standard input, use the network, or write files outside the current folder.
- Do not write a solution.

Answer with the tests alone, in one ```{fence} code block."""  # noqa: E501

# More solutions to a parsed problem (`solutions_per_problem`), sampled at `solutions_temperature`: the paper's system
# prompt and its own words for the [Solution] section, so a sample reads like the generate stage's solution.
SOLUTIONS_USER_TEMPLATE = """Solve the following programming problem in {language}.

[Problem Description]
{problem}

Offer a comprehensive, **correct** solution that accurately addresses the [Problem Description], with its code in one ```{fence} code block."""  # noqa: E501

# Language -> (its name in the prompt, the info string of the code block asked for).
TEST_LANGUAGES = {
    "python": ("Python", "python"),
    "cpp": ("C++", "cpp"),
    "java": ("Java", "java"),
    "typescript": ("TypeScript", "typescript"),
    "shell": ("Bash", "bash"),
    "csharp": ("C#", "csharp"),
    "rust": ("Rust", "rust"),
    "php": ("PHP", "php"),
    "swift": ("Swift", "swift"),
}

# Language -> a pattern that tests which check anything must contain: an assertion, a throw, a non-zero exit. Tests
# without one would pass whatever the solution does (the tests stage rejects them as `no_checks`).
CHECKS = {
    "python": r"\bassert\b|\braise\b|\bunittest\b|\bsys\.exit\s*\(|\bexit\s*\(",
    "cpp": r"\bassert\s*\(|\bthrow\b|\breturn\s+[1-9]|\bexit\s*\(|\babort\s*\(",
    "java": r"\bassert\b|\bthrow\b|System\.exit\s*\(",
    "typescript": r"\bassert\b|\bthrow\b|process\.exit\s*\(",
    "shell": r"\bexit\s+(?:[1-9]|\$)|\breturn\s+[1-9]|\bset\s+-e",
    "csharp": r"\bthrow\b|Environment\.Exit\s*\(",
    "rust": r"\bassert(?:_eq|_ne)?!|\bpanic!|\bunreachable!|process::exit\s*\(",
    "php": r"\bassert\s*\(|\bthrow\b|\bexit\s*\(\s*[1-9]|\bdie\s*\(",
    "swift": r"\bprecondition(?:Failure)?\s*\(|\bassert\s*\(|\bfatalError\s*\(|\bexit\s*\(",
}

# The local toy teacher's tests (`teacher.guided.GuidedLocalTestsTeacher`) are started for it where the harness says
# how, and cut where one check ends: language -> (start, end). SmolLM2-135M rambles past any closing fence; one assert
# line is a test it can finish. A real teacher gets the prompt alone.
TOY_TESTS_STARTERS = {"python": ("from solution import *\n\nassert ", "\n")}

HARNESS = {
    "python": (
        "The solution is saved as solution.py and your tests as test_solution.py in the same folder; they run with "
        "`python3 test_solution.py`. Start with `from solution import *` (do not paste the solution), then check "
        "with plain `assert` statements, or with `unittest.TestCase` classes ending in `unittest.main()`."
    ),
    "cpp": (
        "The solution is saved as solution.cpp and your tests as test.cpp. They are compiled as one program, "
        "main.cpp, which `#include`s solution.cpp for you before test.cpp, with the solution's `main` renamed so "
        "that it does not run and `NDEBUG` and `assert` undefined before test.cpp (`g++ -std=c++17 -o main "
        "_oss_runner.cpp main.cpp -Wl,--wrap=main`, then `./main`, where the executor's runner calls your `main`). "
        "So do not include solution.cpp and do not redefine its functions or classes; include the standard headers "
        "you use. Write `int main()` that checks with `assert` from <cassert> (or prints a message and returns 1 "
        "when a check fails) and returns 0 when every check passes."
    ),
    "java": (
        "The solution is saved as <its public class>.java and your tests as SolutionTest.java in the same folder, "
        "both in the default package (`package` lines are removed); the solution's `import` lines are added to your "
        "file. Both are compiled with `javac *.java`, then the executor's runner calls `SolutionTest.main` with "
        "assertions enabled (as `java -ea SolutionTest` would). Write `public class SolutionTest` with `public "
        "static void main(String[] args)` that uses the solution's classes directly (no import needed for them) and "
        "throws an exception (for example `throw new AssertionError(...)`; `assert` works too) when a check fails. "
        "The tests pass when main returns (or itself calls `System.exit(0)`); an exit from the solution's code is "
        "not a pass. No JUnit."
    ),
    "typescript": (
        "Your tests are appended to the solution in one file, main.ts, compiled with `tsc` (write type-correct code; "
        "Node's types are available) and run with Node as `node main.js` would. The solution's functions, classes "
        "and variables are already in scope: do not import the solution or redeclare its names. Throw an Error when "
        'a check fails, or use `import { strict as assert } from "node:assert";` (a failed `console.assert` fails '
        "the run too). Promises are awaited: a rejected one fails the run. The tests pass when they reach their end "
        "(or call `process.exit(0)`) with every check held."
    ),
    "shell": (
        "The solution is saved as solution.sh and your tests as test.sh in the same folder; they run as `bash "
        "test.sh` would, after the solution was sourced for you: its functions and variables are already defined "
        "(a `source ./solution.sh` line is skipped). Call its functions directly, or run it as `bash ./solution.sh "
        "ARGS` and check its output and exit status. Exit with a non-zero status (`exit 1` after a message) when a "
        "check fails; the tests pass when they reach their end (or `exit 0`) with every check held."
    ),
    "csharp": (
        "The solution is saved as Solution.cs and your tests as SolutionTests.cs; both are compiled into one "
        "program with Mono's `mcs` (C# 7.2: no switch expressions, ranges, `using var`, records, local functions or "
        "`case ... when` guards), DEBUG and TRACE defined, System.Core, System.Numerics and Microsoft.CSharp "
        "referenced, then run with `mono`; the executor's runner calls your `Main`. Both files get .NET's implicit "
        "usings (System, System.Collections.Generic, System.IO, System.Linq, System.Threading, "
        "System.Threading.Tasks) and yours the solution's `using` lines and namespaces. Write a top-level (no "
        "namespace) `public static class SolutionTests` with `public static void Main()`. Throw `new "
        'Exception("...")` when a check fails (a failed `Debug.Assert` or `Trace.Assert` fails the run too). The '
        "tests pass when Main returns (or itself calls `Environment.Exit(0)`); an exit from the solution's code is "
        "not a pass. No NUnit or xUnit."
    ),
    "rust": (
        "Your tests are appended to the solution in one file, main.rs, in which the solution's `fn main` is "
        "renamed so that it does not run; it is compiled with `rustc --edition 2021 -o main main.rs` (no `--test`) "
        "and run as `./main`, where the executor's runner calls your `fn main()` and then each `#[test]` function, "
        "also those in `#[cfg(test)] mod tests { use super::*; ... }` (`#[should_panic]` is honoured). The "
        "solution's items are already in scope: do not redefine them or import them from a crate. Write `fn main()` "
        "or `#[test]` functions that check with `assert!` and `assert_eq!` (a failed check panics). No external "
        "crates."
    ),
    "php": (
        "The solution is saved as solution.php and your tests as test.php; a runner loads solution.php and then "
        "test.php, with `php -d zend.assertions=1 -d assert.exception=1`, so the solution's functions and classes "
        "are already defined: do not require or include solution.php. Start with `<?php`; throw an exception (or "
        "use `assert`, which throws here) or `exit(1)` when a check fails; the tests pass when they reach their end "
        "(or `exit(0)`) with every check held."
    ),
    "swift": (
        "Your tests are appended to the solution in one file, main.swift, compiled with `swiftc -o main "
        "main.swift` and run as `./main`. The solution's declarations are already in scope: do not redefine them. "
        "Write top-level code that checks with `precondition(...)` (a failed check stops the program). No XCTest."
    ),
}


def tests_messages(problem: str, solution: str | None, lang: str) -> list[dict[str, str]]:
    """Chat messages asking for tests of one problem and its solution (`solution` as the teacher wrote it, fenced);
    with `solution` None, of the problem alone (`tests_from: problem`)."""
    if lang not in HARNESS:
        raise ValueError(f"no test harness for language {lang!r}: one of {sorted(HARNESS)}")
    language, fence = TEST_LANGUAGES[lang]
    fields = {"language": language, "problem": problem.strip(), "harness": HARNESS[lang], "fence": fence}
    if solution is None:
        user = TESTS_FROM_PROBLEM_TEMPLATE.format(**fields)
    else:
        user = TESTS_USER_TEMPLATE.format(solution=solution.strip(), **fields)
    return [{"role": "system", "content": TESTS_SYSTEM}, {"role": "user", "content": user}]


def solution_messages(problem: str, lang: str) -> list[dict[str, str]]:
    """Chat messages asking for one more solution of a parsed problem, in the row's language."""
    if lang not in TEST_LANGUAGES:
        raise ValueError(f"no code block name for language {lang!r}: one of {sorted(TEST_LANGUAGES)}")
    language, fence = TEST_LANGUAGES[lang]
    user = SOLUTIONS_USER_TEMPLATE.format(language=language, problem=problem.strip(), fence=fence)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

"""The executor's Python runner: `python3 -E -s -B _oss_runner.py` in a row's folder (see `execution.verdict`).

It reads the run's token and closes that pipe, loads solution.py as the module `solution` (an exit while loading is
noted and the tests run on what it defined), runs test_solution.py as `__main__` with the solution's names already in
scope (a tests file that forgets `from solution import *` works, and `_private` helpers are there too), then runs
the tests' `test_*` functions that their own code does not call and their `unittest.TestCase` classes
(`unittest.main()` is left to the runner). Only when all of that returned does it write `done TOKEN CHECKS` and
leave with `os._exit(0)`, so no exit hook, signal handler or exit call of the solution can report a pass. A failed
check prints its traceback and leaves with status 1.
"""

import builtins
import os
import sys
import types

# ast, inspect, traceback and unittest are imported only when a row needs them: unittest alone costs ~20 ms a run

SOLUTION, TESTS = "solution.py", "test_solution.py"


def main():
    write, leave = os.write, os._exit  # the solution may replace os's functions; the runner keeps its own
    token_fd, out = int(os.environ.pop("OSS_VERDICT_IN")), int(os.environ.pop("OSS_VERDICT_OUT"))
    token = os.read(token_fd, 256).decode().strip()
    os.close(token_fd)

    def say(*words):
        write(out, (" ".join(str(w) for w in words) + "\n").encode())

    def failed(status=1):
        sys.stdout.flush()
        sys.stderr.flush()
        leave(status)

    say("phase", "loading")
    solution = types.ModuleType("solution")
    solution.__file__ = os.path.abspath(SOLUTION)
    sys.modules["solution"] = solution
    try:
        source = _read(SOLUTION)
        exec(compile(source, SOLUTION, "exec"), solution.__dict__)
    except SystemExit as exit_:
        print(f"[runner] solution.py called exit({exit_.code!r}) while loading; the tests run on what it defined")
    except BaseException:
        _trace()
        failed()

    say("phase", "testing")
    tests = types.ModuleType("__main__")
    tests.__file__ = os.path.abspath(TESTS)
    tests.__builtins__ = builtins
    # every name the solution defines but its dunders (`from solution import *` would skip `_helper`s the tests use)
    names = [name for name in vars(solution) if not (name.startswith("__") and name.endswith("__"))]
    for name in names:
        if hasattr(solution, name):
            setattr(tests, name, getattr(solution, name))
    sys.modules["__main__"] = tests
    try:
        text = _read(TESTS)
        unittest = None
        if "unittest" in text:  # a TestCase needs the module named in the tests' text
            import unittest

            unittest.main = _no_main  # the runner runs the TestCases itself, after the tests' own code
        exec(compile(text, TESTS, "exec"), tests.__dict__)
    except SystemExit as exit_:
        _exited(exit_, tests.__file__, "the tests", say, token, failed)
    except BaseException:
        _trace()
        failed()

    say("phase", "collecting")
    checks = _run_collected(
        tests, text, unittest, lambda exit_, what: _exited(exit_, tests.__file__, what, say, token, failed), failed
    )
    sys.stdout.flush()
    sys.stderr.flush()
    say("done", token, checks)
    leave(0)


def _trace():
    """The current exception's traceback, after what the code printed so far (the order a reader expects)."""
    import traceback

    sys.stdout.flush()
    traceback.print_exc()


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _exited(exit_, tests_file, what, say, token, failed):
    """A SystemExit out of the tests' code: from the tests themselves, 0 means they chose to stop there (the runner
    goes on) and anything else is a failed check; from the solution, the tests never returned."""
    where = _origin(exit_.__traceback__)
    if where != tests_file:
        print(f"[runner] exit({exit_.code!r}) called from {os.path.basename(where or '?')} during {what}")
        say("incomplete", token, f"the solution called exit during {what}, before they returned")
        failed()
    if exit_.code not in (0, None):
        print(f"[runner] {what} exited with status {exit_.code!r}")
        failed(exit_.code if isinstance(exit_.code, int) and 0 < exit_.code < 256 else 1)


def _origin(tb):
    """The file of the innermost frame of a traceback: where `sys.exit` was called."""
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    return os.path.abspath(last.tb_frame.f_code.co_filename) if last else None


def _no_main(*args, **kwargs):
    """`unittest.main()` in the tests: the runner runs their TestCase classes once their code has returned."""


def _called_at_top(text):
    """Names the tests' module-level code calls (outside function and class bodies)."""
    import ast

    called, todo = set(), list(ast.parse(text, TESTS).body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called.add(node.func.id)
        todo.extend(ast.iter_child_nodes(node))
    return called


def _run_collected(tests, text, unittest, exited, failed):
    """Run the tests' test functions (those their own code did not call) and TestCase classes; the checks run, or
    -1 when the tests have neither (a plain script: its asserts ran as it went)."""
    path = tests.__file__
    functions, cases = [], []
    for name, value in list(vars(tests).items()):
        if isinstance(value, types.FunctionType) and name.startswith("test"):
            if os.path.abspath(value.__code__.co_filename) == path:
                functions.append((name, value))
        elif (
            unittest is not None
            and isinstance(value, type)
            and issubclass(value, unittest.TestCase)
            and value.__module__ == "__main__"
        ):
            cases.append(value)
    if not functions and not cases:
        return -1
    checks = 0
    called = _called_at_top(text) if functions else set()
    for name, function in functions:
        if name in called:
            checks += 1  # run by the tests' own code, which returned
            continue
        import inspect

        if inspect.iscoroutinefunction(function) or any(
            p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            for p in inspect.signature(function).parameters.values()
        ):
            print(f"[runner] {name} takes arguments or is async (no pytest fixtures here): not run")
            continue
        try:
            function()
        except SystemExit as exit_:
            exited(exit_, name)
        except BaseException:
            _trace()
            failed()
        checks += 1
    if cases:
        loader = unittest.TestLoader()
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(case) for case in cases)
        result = unittest.TextTestRunner(stream=sys.stderr, verbosity=1).run(suite)
        if not result.wasSuccessful():
            failed()
        checks += result.testsRun - len(result.skipped)
    return checks


if __name__ == "__main__":
    main()

"""C#: Solution.cs and SolutionTests.cs compiled with Mono's mcs into one program with DEBUG and TRACE defined, whose
entry point is the executor's runner (`runners/_OssRunner.cs`): it calls the tests' `Main` by reflection, makes a
failed Debug.Assert/Trace.Assert fail, sees every Environment.Exit, and reports completion on the verdict channel.

Both files get .NET's implicit usings (what `dotnet new console` gives a project) and the standard references, so
code written for .NET compiles; the tests also get the solution's `using` lines and namespaces. mcs 6.8 knows C# 7
and a little of C# 8 (see the README's Execution-verified data): newer syntax is a `compile_error`."""

from __future__ import annotations

import re

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, main_class, mb, runner_source

RUNNER = "_OssRunner"
_CS_MAIN = r"static\s+(?:async\s+)?(?:void|int|Task(?:<int>)?)\s+Main\s*\("
_CS_NAMESPACE = re.compile(r"^\s*namespace\s+([\w.]+)", re.MULTILINE)
_USING = re.compile(
    r"^[ \t]*using\s+(?:static\s+)?(?:(\w+)\s*=\s*)?([\w.]+(?:<[\w.<>, ]*>)?)\s*;[ \t]*$", re.MULTILINE
)
_FIRST_DECLARATION = re.compile(
    r"^\s*(?:namespace|(?:\[[^\]\n]*\]\s*)*(?:(?:public|internal|static|sealed|abstract|"
    r"partial)\s+)*(?:class|struct|interface|enum|delegate)\b)",
    re.MULTILINE,
)
_OUTER_NAMESPACE = re.compile(r"^namespace\s+([\w.]+)", re.MULTILINE)
_EXTERN_ALIAS = re.compile(r"^\s*extern\s+alias\b", re.MULTILINE)
_DECLARED = re.compile(r"\b(?:class|struct|interface|enum|record|delegate\s+[\w.<>\[\], ]+?)\s+(\w+)")
# what mono-mcs installs (System.Net.Http is another package, and the sandbox has no network: its implicit using is
# left out)
REFERENCES = ("System.Numerics.dll", "System.Core.dll", "Microsoft.CSharp.dll")
# .NET's implicit usings for a console project, each with the names of its types that code most often declares
# itself: a namespace is not added to a row that declares one of them (two imported types of one name would make
# that name ambiguous, CS0104, where the code compiled before)
IMPLICIT_USINGS = {
    "System": {"Action", "Func", "Tuple", "Random", "Math", "Console", "Version", "Range", "Index", "Type", "Buffer",
               "Lazy", "Progress", "Environment", "Convert", "Guid", "TimeSpan", "DateTime", "Delegate", "Attribute",
               "Exception", "Array", "Enum", "Object", "String", "EventArgs", "EventHandler", "Nullable", "Half",
               "Memory", "Span", "Activator", "Boolean", "Char", "Decimal", "Double", "Int32", "Int64", "Single"},
    "System.Collections.Generic": {"List", "Dictionary", "HashSet", "Queue", "Stack", "LinkedList", "LinkedListNode",
                                   "SortedList", "SortedSet", "SortedDictionary", "Comparer", "KeyValuePair",
                                   "PriorityQueue", "EqualityComparer"},
    "System.IO": {"File", "Directory", "Path", "Stream", "FileInfo", "DirectoryInfo", "StreamReader", "StreamWriter",
                  "FileMode", "FileAccess", "BinaryReader", "BinaryWriter", "MemoryStream", "TextReader", "TextWriter",
                  "StringReader", "StringWriter", "FileStream", "FileSystemWatcher", "DriveInfo"},
    "System.Linq": {"Enumerable", "Lookup", "ILookup", "IGrouping", "Queryable", "ParallelEnumerable"},
    "System.Threading": {"Thread", "Timer", "Monitor", "Mutex", "Semaphore", "SemaphoreSlim", "Barrier", "Lock",
                         "Interlocked", "CancellationToken", "ThreadPool", "Volatile", "SpinLock", "ReaderWriterLock"},
    "System.Threading.Tasks": {"Task", "Parallel", "TaskFactory", "TaskScheduler", "ValueTask"},
}  # fmt: skip


# Debug's and Trace's one listener is the runner's, which throws (Mono's default one prints nothing and goes on)
TRACE_CONFIG = f"""<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.diagnostics>
    <trace>
      <listeners>
        <clear/>
        <add name="oss" type="{RUNNER}+Throwing, test"/>
      </listeners>
    </trace>
  </system.diagnostics>
</configuration>
"""


def find() -> dict[str, str] | None:
    mcs, mono = binaries.which("mcs"), binaries.which("mono")
    return {"mcs": str(mcs), "mono": str(mono)} if mcs and mono else None


def usings(source: str, top_level: bool = False) -> list[str]:
    """The `using` directives of a file, as written (`using (...)` statements are not directives); with `top_level`
    only those before its first namespace or type (one inside a namespace may name a namespace relative to it)."""
    if top_level:
        first = _FIRST_DECLARATION.search(source)
        source = source[: first.start()] if first else source
    return [m.group(0).strip() for m in _USING.finditer(source)]


def with_usings(source: str, extra: list[str]) -> str:
    """`source` with the directives of `extra` it lacks first, then `#line 1` so that compile errors keep the file's
    own line numbers. An alias the file already defines is not added again (CS1537)."""
    have = set(usings(source))
    aliases = {m.group(1) for m in _USING.finditer(source) if m.group(1)}
    add = []
    for line in extra:
        alias = _USING.match(line)
        if line in have or (alias and alias.group(1) in aliases):
            continue
        have.add(line)
        add.append(line)
    if not add or _EXTERN_ALIAS.search(source):  # `extern alias` must come first: leave such a file as written
        return source
    return "\n".join(add) + "\n#line 1\n" + source


def implicit_usings(*sources: str) -> list[str]:
    declared = {m.group(1) for source in sources for m in _DECLARED.finditer(source)}
    timers = any(re.search(r"^\s*using\s+System\.Timers\s*;", source, re.MULTILINE) for source in sources)
    return [
        f"using {namespace};"
        for namespace, names in IMPLICIT_USINGS.items()
        if not names & declared and not (timers and namespace == "System.Threading")
    ]


def tests_entry(tests: str) -> str:
    """The full name of the tests' class holding `Main` ('' when they have none)."""
    main = main_class(tests, _CS_MAIN)
    if main is None:
        return ""
    at = re.search(_CS_MAIN, tests).start()
    spaces = [m.group(1) for m in _CS_NAMESPACE.finditer(tests, 0, at)]
    return f"{spaces[-1] + '.' if spaces else ''}{main}"


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    implicit = implicit_usings(solution, tests)
    # the solution's outer namespaces (at the start of a line: a nested one is indented and relative to its parent)
    namespaces = [f"using {m.group(1)};" for m in _OUTER_NAMESPACE.finditer(solution)]
    files = {
        "Solution.cs": with_usings(solution, implicit),
        "SolutionTests.cs": with_usings(tests, [*implicit, *usings(solution, top_level=True), *namespaces]),
        f"{RUNNER}.cs": runner_source(f"{RUNNER}.cs"),
        "test.exe.config": TRACE_CONFIG,  # read by Mono only when an assertion fails
    }
    compile_argv = [
        tc["mcs"],
        "-out:test.exe",
        f"-main:{RUNNER}",
        "-langversion:latest",  # 7.2, the newest mcs knows (its default is 7.0)
        "-define:DEBUG;TRACE",  # Debug.Assert and Trace.Assert are compiled in (the runner makes them fail)
        *[f"-r:{reference}" for reference in REFERENCES],
        *sorted(name for name in files if name.endswith(".cs")),
    ]
    # Mono's GC otherwise grows until RLIMIT_DATA makes it abort without a managed OutOfMemoryException
    env = {"MONO_GC_PARAMS": f"max-heap-size={max(16, mb(limits.memory_bytes) // 2)}m"}
    # no inlining: the runner tells who called Environment.Exit by the frame above it
    run = [tc["mono"], "-O=-inline", "test.exe", tests_entry(tests)]
    return Plan(files, compile_argv, run, env, reports=True)


LANGUAGE = Language(
    name="csharp",
    command="mcs",
    install="apt-get install -y mono-mcs mono-runtime",
    version_label="mcs",
    find=find,
    version_argv=lambda tc: [tc["mcs"], "--version"],
    plan=plan,
    patterns=(
        (r"System\.OutOfMemoryException", "memory"),
        (r"AssertFailedException|AssertionException|Assert\.Fail|DEBUG ASSERTION FAILED|Assertion failed", "fail"),
        # the harness's `throw new Exception(...)` in the tests' class (Mono inlines frames: only the base type counts)
        (r"^System\.Exception: .*\n\s+at SolutionTests\.", "fail"),
        (r"^\[runner\] a check in the tests failed", "fail"),  # the runner saw the first frame in the tests' class
        (r"Unhandled Exception|\bSystem\.\w*Exception\b", "runtime_error"),
    ),
)

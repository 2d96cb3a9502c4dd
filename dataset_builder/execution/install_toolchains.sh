#!/usr/bin/env bash
# Installs what execution verification needs: bubblewrap, libseccomp's Python bindings for the system python3 (the
# sandbox's syscall filter is built with them) and one toolchain per language (`make toolchains`; README,
# "Execution-verified data"), with the javatuples jar that bigcode-evaluation-harness's MultiPL-E Java runner puts on
# its CLASSPATH (linked at /usr/multiple/javatuples-1.2.jar).
# Idempotent: each command is looked up first and only what is missing is installed. As root with apt-get it
# installs the Debian packages; otherwise it prints the exact commands and goes on. TypeScript comes from npm into
# $OSS_INSTRUCT_TOOLS (default ~/.cache/oss-instruct/tools; as root /usr/local/lib/oss-instruct/tools, because the
# sandbox runs each worker as an unprivileged uid that cannot enter /root). Ends with a table per language.
set -uo pipefail

root=0
[ "$(id -u)" = 0 ] && root=1
if [ -n "${OSS_INSTRUCT_TOOLS:-}" ]; then
    tools="$OSS_INSTRUCT_TOOLS"
elif [ "$root" = 1 ]; then
    tools=/usr/local/lib/oss-instruct/tools
else
    tools="$HOME/.cache/oss-instruct/tools"
fi

# As root the sandbox runs code as an unprivileged uid, so a tool only counts when another uid can run it.
usable() {
    if [ "$root" = 1 ] && command -v setpriv >/dev/null; then
        setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$1"
    else
        test -x "$1"
    fi
}
has() { local p; p="$(command -v "$1")" && usable "$(readlink -f "$p")"; }

# rustup's rustc is a proxy: the compiler the sandbox runs is <sysroot>/bin/rustc
has_rustc() {
    local r sysroot
    for r in $(type -ap rustc) /usr/bin/rustc; do
        [ -x "$r" ] || continue
        sysroot="$("$r" --print sysroot 2>/dev/null)" || continue
        usable "$sysroot/bin/rustc" && return 0
    done
    return 1
}

javatuples=/usr/share/java/javatuples.jar
harness_jar=/usr/multiple/javatuples-1.2.jar  # where the harness's Java runner puts its CLASSPATH

missing=()
has bwrap || missing+=(bubblewrap)
/usr/bin/python3 -c 'import seccomp' 2>/dev/null || missing+=(python3-seccomp)
has g++ || missing+=(g++)
has javac || missing+=(openjdk-17-jdk-headless)
has node || missing+=(nodejs)
has npm || missing+=(npm)
has php || missing+=(php-cli)
has mcs || missing+=(mono-mcs)
has mono || missing+=(mono-runtime)
has_rustc || missing+=(rustc)
# MultiPL-E's Java programs import org.javatuples (bigcode-evaluation-harness, `make harness`)
[ -f "$javatuples" ] || missing+=(libjavatuples-java)
# `make harness` makes the harness's environment from Debian's python3 (so the sandbox can show it): its venv module
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$root" = 1 ] && command -v apt-get >/dev/null; then
        echo "installing: ${missing[*]}"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
            echo "warning: apt-get could not install ${missing[*]}; those languages count as no_toolchain" >&2
    else
        echo "missing Debian packages; as root run:"
        echo "  apt-get install -y ${missing[*]}"
    fi
fi

if [ -f "$javatuples" ] && [ ! -e "$harness_jar" ]; then
    if [ "$root" = 1 ]; then
        mkdir -p "$(dirname "$harness_jar")" && ln -sf "$javatuples" "$harness_jar"
    else
        echo "the bigcode harness's Java runner needs the javatuples jar at $harness_jar; as root run:"
        echo "  mkdir -p $(dirname "$harness_jar") && ln -s $javatuples $harness_jar"
    fi
fi

tsc="$tools/typescript/node_modules/typescript/bin/tsc"
if [ ! -f "$tsc" ]; then
    npm_cmd=(npm install --prefix "$tools/typescript" typescript@5 @types/node@20)
    if command -v npm >/dev/null; then
        echo "installing TypeScript: ${npm_cmd[*]}"
        mkdir -p "$tools/typescript"
        "${npm_cmd[@]}" --no-audit --no-fund --loglevel=error >/dev/null ||
            echo "warning: npm could not install TypeScript; typescript rows count as no_toolchain" >&2
    else
        echo "TypeScript needs npm; then run: ${npm_cmd[*]}"
    fi
fi

# The table comes from the same lookup the executor uses (dataset_builder.execution.toolchains).
cd "$(dirname "$0")/../.."
echo
if command -v python3 >/dev/null && OSS_INSTRUCT_TOOLS="$tools" python3 -m dataset_builder.execution; then
    exit 0
fi
echo "(python3 could not print the table; looking up commands only)"
for pair in python:python3 cpp:g++ java:javac typescript:"$tsc" shell:bash csharp:mcs rust:rustc php:php swift:swiftc; do
    lang="${pair%%:*}" cmd="${pair#*:}"
    if command -v "$cmd" >/dev/null; then status=found; else status=missing; fi
    [ "$lang" = swift ] && [ "$status" = missing ] && status="missing (no Debian 12 package; rows are counted as no_toolchain)"
    printf '%-11s %s\n' "$lang" "$status"
done
exit 0

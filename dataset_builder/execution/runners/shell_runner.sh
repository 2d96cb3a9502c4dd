# The executor's Bash runner: `bash _oss_runner.sh` in a row's folder (see dataset_builder/execution/verdict.py).
#
# It reads the run's token and closes that pipe, checks that solution.sh parses (`bash -n`; if not, it writes
# `unparsed TOKEN why`: a compile error), sources solution.sh (an exit while loading is noted and the tests run
# on what it defined; not when called as `_oss_runner.sh program`: tests that only run the solution as a program of
# its own), then undoes what the solution did to the shell: functions named like a builtin or keyword
# (`exit`, `[`, `echo`, ...), disabled builtins (`enable -n`), aliases, traps, options, PATH, IFS, the working folder
# and the standard streams; it checks that `exit`, `return`, `[`, `test` and `echo` behave, then sources test.sh.
# `exit` during the tests is the runner's: from test.sh itself, 0 means the tests chose to end there and anything
# else is a failed check; from the solution's code (outside a subshell) the tests never returned. Only when test.sh
# returned with status 0 (or exited 0 from its own lines), and nothing turned builtins off meanwhile, does it write
# `done TOKEN -1` (plain checks cannot be counted) and leave without running any exit trap.
#
# Everything is functions parsed before any row code runs, so aliases and edits of this file made by the solution do
# not reach them, and they are read-only (with the runner's `exit`), so the solution cannot replace them.

__oss_main() {
    local -r __oss_out=$OSS_VERDICT_OUT
    local __oss_line=
    IFS= read -r __oss_line <&"$OSS_VERDICT_IN"
    exec {OSS_VERDICT_IN}<&-
    local -r __oss_token=$__oss_line
    unset OSS_VERDICT_IN OSS_VERDICT_OUT __oss_line
    local -ra __oss_builtins=($(compgen -b)) __oss_keywords=($(compgen -k))
    local -r __oss_dir=$PWD __oss_path=$PATH
    local __oss_stage=loading __oss_status=0
    local -r __oss_exit=$(declare -f exit)
    exec {__oss_stdout}>&1 {__oss_stderr}>&2
    # the solution cannot replace the runner's functions (or define its own `exit`)
    readonly -f __oss_main __oss_say __oss_exited __oss_leave __oss_refuse __oss_restore __oss_shadowing exit \
        __oss_tests __oss_finish

    # a solution that does not parse is a compile error the runner sees before any of the row's code runs (bash -n
    # reads it without running it; extglob on, so a script that turns extglob on itself still parses)
    if ! "$BASH" -O extglob -n ./solution.sh </dev/null; then
        __oss_say unparsed "$__oss_token" "solution.sh does not parse"
        builtin exit 2
    fi
    __oss_say phase loading
    trap __oss_exited EXIT
    if [[ $1 != program ]]; then
        source ./solution.sh </dev/null
    fi
    __oss_tests
}

__oss_say() {
    builtin printf '%s\n' "$*" >&"$__oss_out"
}

__oss_exited() {
    # the EXIT trap: an `exit` the runner's own `exit` did not see (errexit, `builtin exit`, an exit while loading)
    local rc=$? from=${BASH_SOURCE[1]:-?}
    if [[ $__oss_stage == loading ]]; then
        builtin echo "[runner] solution.sh called exit $rc while loading; the tests run on what it defined" >&2
        __oss_tests
    elif ((rc != 0)); then
        __oss_leave "$rc"
    elif [[ $from == ./test.sh ]]; then
        __oss_finish
    else
        builtin echo "[runner] exit 0 from ${from##*/} during the tests" >&2
        __oss_say incomplete "$__oss_token" "the solution called exit during the tests, before they returned"
        __oss_leave 1
    fi
}

__oss_leave() {
    __oss_stage=leaving
    POSIXLY_CORRECT=y  # an assignment, not a command: `trap` and `exit` below are the shell's special builtins
    trap - EXIT
    exit "$1"
}

__oss_refuse() {
    builtin echo "[runner] $1" >&2
    __oss_say incomplete "$__oss_token" "$1"
    __oss_leave 1
}

__oss_restore() {
    # POSIX mode finds special builtins (unset, trap, set, exit, return, ...) before functions
    POSIXLY_CORRECT=y
    if [[ ! -o posix ]]; then
        __oss_refuse "the solution made POSIXLY_CORRECT read-only: the runner cannot restore the shell"
        return 1
    fi
    set +o errexit +o nounset
    trap - EXIT ERR RETURN DEBUG
    local name
    for name in "${__oss_builtins[@]}" "${__oss_keywords[@]}"; do
        [[ $name == exit ]] || unset -f -- "$name" 2>/dev/null
    done
    builtin enable -- "${__oss_builtins[@]}"
    builtin unalias -a
    builtin shopt -u expand_aliases extdebug
    set +o errexit +o nounset +o pipefail +o xtrace +o verbose +o noglob +o functrace +o errtrace +o noclobber
    set +o allexport +o posix
    unset POSIXLY_CORRECT
    PATH=$__oss_path
    IFS=$' \t\n'
    exec 0</dev/null 1>&"$__oss_stdout" 2>&"$__oss_stderr"
    builtin cd -- "$__oss_dir" || return 1
    local shadowed
    shadowed=$(__oss_shadowing)
    if [[ -n $shadowed ]]; then
        __oss_refuse "the solution left builtins replaced or disabled that the runner cannot restore: $shadowed"
        return 1
    fi
    __oss_probe_return() { return 5; }
    __oss_probe_return
    local returned=$?
    (exit 7)
    if (($? != 7 || returned != 5)) || ! [ a = a ] || [ a = b ] || ! test a = a || test a = b \
        || [[ $(echo probe) != probe ]] || [[ $(printf %s probe) != probe ]]; then
        __oss_refuse "exit, return, [, test or echo do not behave after loading the solution"
        return 1
    fi
    unset -f __oss_probe_return
}

__oss_shadowing() {
    # functions named like a builtin or keyword (but the runner's `exit`), disabled builtins, aliases that expand
    local name
    for name in $(builtin compgen -A function); do
        if [[ $name == exit && $__oss_exit == "$(builtin declare -f exit)" ]]; then
            continue  # the runner's own
        fi
        if [[ " ${__oss_builtins[*]} ${__oss_keywords[*]} " == *" $name "* ]]; then
            builtin printf 'function %s; ' "$name"
        fi
    done
    for name in $(builtin enable -n); do
        [[ $name == -n || $name == enable ]] || builtin printf 'disabled %s; ' "$name"
    done
    if builtin shopt -q expand_aliases; then
        builtin printf 'aliases on; '
    fi
}

exit() {
    # `exit` in the row's code (read-only: the solution cannot define its own): from test.sh during the tests, 0 means
    # the tests chose to end there and anything else is a failed check; from the solution's code, the tests never
    # returned; in a subshell (`$(...)`, a pipeline), while loading or when the runner leaves, the shell's exit
    local rc=${1-$?} from=${BASH_SOURCE[1]:-?}
    if [[ $BASHPID != "$$" || $__oss_stage != testing ]]; then
        builtin exit "$rc"
    elif ((rc != 0)); then
        __oss_leave "$rc"
    elif [[ $from == ./test.sh ]]; then
        __oss_finish
    else
        __oss_refuse "the solution called exit 0 during the tests (in ${from##*/}), before they returned"
    fi
}

__oss_tests() {
    __oss_stage=restoring
    __oss_restore || __oss_leave 1
    __oss_stage=testing
    __oss_say phase testing
    trap __oss_exited EXIT
    source ./test.sh
    __oss_status=$?
    if ((__oss_status != 0)); then
        builtin echo "[runner] test.sh ended with status $__oss_status" >&2
        __oss_leave "$__oss_status"
    fi
    __oss_finish
}

__oss_finish() {
    if [[ $__oss_stage != testing || ! ${FUNCNAME[1]} =~ ^(__oss_tests|exit|__oss_exited)$ ]]; then
        __oss_refuse "the runner's finish was called from ${FUNCNAME[1]:-?} (${BASH_SOURCE[1]:-?}), not by the runner"
    fi
    __oss_stage=finishing
    POSIXLY_CORRECT=y  # `set` and `unset` below are the shell's (the tests' own options no longer apply)
    set +o errexit +o nounset +o pipefail
    unset POSIXLY_CORRECT
    local shadowed
    shadowed=$(__oss_shadowing)
    if [[ -n $shadowed ]]; then
        __oss_refuse "builtins were replaced or disabled during the tests: $shadowed"
    fi
    POSIXLY_CORRECT=y
    __oss_say done "$__oss_token" -1
    trap - EXIT
    exit 0
}

__oss_main "$@"

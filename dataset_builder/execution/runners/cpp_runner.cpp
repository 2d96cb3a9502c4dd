// The executor's C++ runner (see dataset_builder/execution/verdict.py), compiled as its own translation unit and
// linked first: `g++ -std=c++17 -O0 -o main _oss_runner.cpp main.cpp -Wl,--wrap=main`.
//
// - It reads the run's token from the pipe named by OSS_VERDICT_IN and closes it from `.preinit_array`, which runs
//   before every static initializer of the row's code (its own `.preinit_array` entry comes first: this file is
//   linked first). What runs before it is the dynamic loader's work: IFUNC resolvers of the row's code could. The
//   token is read with a raw system call, so a `read` the solution defines never sees it.
// - `--wrap=main` makes the program start in `__wrap_main`, which calls the tests' own `main` (as `main`, so a
//   `main` that ends without `return` returns 0, as the language says). Before that it puts back the default action
//   of every signal that has a handler, unblocks all signals and puts back the default terminate handler.
// - It writes `done TOKEN -1` (asserts are not counted) only when the tests' `main` returned 0, then leaves with
//   `_exit(0)`: no `atexit`/`at_quick_exit` handler or static destructor runs. A `main` returning non-zero leaves
//   with that status.
// - It defines `__assert_fail` (what a failed `assert` calls), so a solution cannot define one that returns: two
//   definitions do not link. A failed assert prints glibc's message and leaves with status 1 (no SIGABRT that a
//   handler could catch).
// - main.cpp makes the tests' `exit(N)` (and `std::exit(N)`) a call of `oss_tests_exit(OSS_TESTS_SECRET, N)`, the
//   secret being a number the executor writes above this file for the row: 0 is the tests' `main` returning 0, any
//   other status a failure (no exit hook runs either way). The solution cannot name the secret, so its own call is
//   the plain `exit` it stands for.
// - It includes no C++ header (<iostream> alone doubled a small row's compile time): main.cpp flushes the streams.
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// libstdc++'s own declarations (<exception> costs more to compile than the rest of this file)
namespace std {
typedef void (*terminate_handler)();
terminate_handler set_terminate(terminate_handler) noexcept;
}  // namespace std
namespace __gnu_cxx {
void __verbose_terminate_handler();
}  // namespace __gnu_cxx

// main.cpp defines it after the tests: it flushes std::cout, std::cerr and std::clog where the row included
// <iostream> (they need not be synchronised with stdio), and does nothing where it did not.
extern "C" void oss_flush_streams();

namespace {

char token[72];
int token_length = 0;
int out_fd = -1;

long raw_read(int fd, char *buffer, unsigned long size) {
#if defined(__x86_64__)
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(0L), "D"(static_cast<long>(fd)), "S"(buffer), "d"(size)
                     : "rcx", "r11", "memory");
    return result;
#else
    return ::read(fd, buffer, size);
#endif
}

void say(const char *first, const char *second, const char *third = nullptr) {
    if (out_fd < 0) return;
    char line[160];
    size_t length = 0;
    const char *parts[] = {first, second, third};
    for (const char *part : parts) {
        if (part == nullptr) continue;
        size_t n = strlen(part);
        if (length + n + 2 > sizeof line) return;
        if (length > 0) line[length++] = ' ';
        memcpy(line + length, part, n);
        length += n;
    }
    line[length++] = '\n';
    ssize_t ignored = ::write(out_fd, line, length);
    (void)ignored;
}

int env_fd(char **envp, const char *name) {
    size_t n = strlen(name);
    for (char **entry = envp; entry != nullptr && *entry != nullptr; ++entry) {
        if (strncmp(*entry, name, n) != 0 || (*entry)[n] != '=') continue;
        int value = 0;
        for (const char *c = *entry + n + 1; *c; ++c) {
            if (*c < '0' || *c > '9') return -1;
            value = value * 10 + (*c - '0');
        }
        return value;
    }
    return -1;
}

void take_token(int, char **, char **envp) {
    int token_fd = env_fd(envp, "OSS_VERDICT_IN");
    out_fd = env_fd(envp, "OSS_VERDICT_OUT");
    if (token_fd < 0) return;
    while (token_length < static_cast<int>(sizeof token) - 1) {
        long got = raw_read(token_fd, token + token_length, sizeof token - 1 - token_length);
        if (got <= 0) break;
        token_length += static_cast<int>(got);
    }
    while (token_length > 0 && (token[token_length - 1] == '\n' || token[token_length - 1] == '\r')) --token_length;
    token[token_length] = '\0';
    ::close(token_fd);
    say("phase", "loading");
}

__attribute__((section(".preinit_array"), used)) void (*oss_take_token)(int, char **, char **) = take_token;

void default_signals() {
    struct sigaction current;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sigaction(sig, nullptr, &current) != 0) continue;
        if (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
}

void flush_all() {
    oss_flush_streams();
    fflush(nullptr);
}

}  // namespace

extern "C" [[noreturn]] void __assert_fail(const char *expression, const char *file, unsigned int line,
                                           const char *function) noexcept {
    flush_all();
    fprintf(stderr, "main: %s:%u: %s%sAssertion `%s' failed.\n", file, line, function ? function : "",
                 function ? ": " : "", expression);
    fflush(stderr);
    ::_exit(1);
}

namespace {
jmp_buf tests_returned;
}

extern "C" [[noreturn]] void oss_tests_exit(unsigned long long secret, int status) {
    if (secret != OSS_TESTS_SECRET) exit(status);
    if (status == 0) longjmp(tests_returned, 1);
    flush_all();
    fprintf(stderr, "[runner] the tests called exit(%d)\n", status);
    fflush(stderr);
    ::_exit((status & 0xff) != 0 ? status & 0xff : 1);
}

extern "C" int __real_main(int, char **, char **);

extern "C" int __wrap_main(int argc, char **argv, char **envp) {
    say("phase", "testing");
    default_signals();
    std::set_terminate(__gnu_cxx::__verbose_terminate_handler);
    int status = 0;
    if (setjmp(tests_returned) == 0) status = __real_main(argc, argv, envp);
    flush_all();
    if (status != 0) {
        fprintf(stderr, "[runner] the tests' main returned %d\n", status);
        fflush(stderr);
        ::_exit((status & 0xff) != 0 ? status & 0xff : 1);
    }
    if (token_length > 0) say("done", token, "-1");
    ::_exit(0);
}

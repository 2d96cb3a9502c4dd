// The executor's Rust runner (see dataset_builder/execution/verdict.py): the body of `mod oss_runner`, the first
// item of main.rs, before the solution and the tests, so no macro of theirs is in its textual scope; it names
// everything by absolute path. The executor ends the module with the row's own part: `pub fn main()`, which hands
// `run` the tests' `main` and `#[test]` functions, and `SECRET`. The crate's `fn main` calls `oss_runner::main`.
//
// - It reads the run's token from the pipe named by OSS_VERDICT_IN and closes it from `.preinit_array`, before any
//   `.init_array` constructor of the row's code runs (a `.preinit_array` entry of the row's own may come first).
//   On x86-64 the token is read with a raw system call, so a `read` the solution defines never sees it.
// - `run` calls the tests' own `main`, when they have one, then each `#[test]` function (found by parsing;
//   `#[should_panic]` and `#[ignore]` respected) under `catch_unwind`, each with the default panic hook put back
//   first. Only `main` and `tests_exit` are visible outside the module: the solution cannot call `run` with tests
//   of its own choosing.
// - Only when every one of them returned without a failure does it write `done TOKEN CHECKS` (the test functions
//   run; -1 for a `main` alone) and leave with `_exit(0)`, so no exit hook runs; a failure leaves with status 101.
use ::std::io::Write as _;

static mut TOKEN: [u8; 72] = [0; 72];
static mut TOKEN_LENGTH: usize = 0;
static mut OUT_FD: i32 = -1;

extern "C" {
    fn write(fd: i32, buffer: *const u8, size: usize) -> isize;
    fn close(fd: i32) -> i32;
    fn _exit(status: i32) -> !;
    #[cfg(not(target_arch = "x86_64"))]
    fn read(fd: i32, buffer: *mut u8, size: usize) -> isize;
}

#[cfg(target_arch = "x86_64")]
unsafe fn raw_read(fd: i32, buffer: *mut u8, size: usize) -> isize {
    let result: isize;
    ::std::arch::asm!(
        "syscall",
        inlateout("rax") 0isize => result,
        in("rdi") fd as isize,
        in("rsi") buffer,
        in("rdx") size,
        lateout("rcx") _,
        lateout("r11") _,
        options(nostack),
    );
    result
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn raw_read(fd: i32, buffer: *mut u8, size: usize) -> isize {
    read(fd, buffer, size)
}

unsafe fn env_fd(envp: *const *const u8, name: &[u8]) -> i32 {
    if envp.is_null() {
        return -1;
    }
    let mut entry = envp;
    while !(*entry).is_null() {
        let text = *entry;
        let mut i = 0;
        while i < name.len() && *text.add(i) == name[i] {
            i += 1;
        }
        if i == name.len() && *text.add(i) == b'=' {
            let mut value: i32 = 0;
            let mut c = text.add(i + 1);
            while *c != 0 {
                if !(*c).is_ascii_digit() {
                    return -1;
                }
                value = value * 10 + (*c - b'0') as i32;
                c = c.add(1);
            }
            return value;
        }
        entry = entry.add(1);
    }
    -1
}

extern "C" fn take_token(_argc: i32, _argv: *const *const u8, envp: *const *const u8) {
    unsafe {
        let token_fd = env_fd(envp, b"OSS_VERDICT_IN");
        OUT_FD = env_fd(envp, b"OSS_VERDICT_OUT");
        if token_fd < 0 {
            return;
        }
        while TOKEN_LENGTH < TOKEN.len() {
            let got = raw_read(token_fd, TOKEN.as_mut_ptr().add(TOKEN_LENGTH), TOKEN.len() - TOKEN_LENGTH);
            if got <= 0 {
                break;
            }
            TOKEN_LENGTH += got as usize;
        }
        while TOKEN_LENGTH > 0 && (TOKEN[TOKEN_LENGTH - 1] == b'\n' || TOKEN[TOKEN_LENGTH - 1] == b'\r') {
            TOKEN_LENGTH -= 1;
        }
        close(token_fd);
    }
    say(&[b"phase", b"loading"]);
}

#[used]
#[link_section = ".preinit_array"]
static oss_take_token: extern "C" fn(i32, *const *const u8, *const *const u8) = take_token;

fn say(words: &[&[u8]]) {
    let mut line: ::std::vec::Vec<u8> = ::std::vec::Vec::new();
    for word in words {
        if !line.is_empty() {
            line.push(b' ');
        }
        line.extend_from_slice(word);
    }
    line.push(b'\n');
    unsafe {
        if OUT_FD >= 0 {
            write(OUT_FD, line.as_ptr(), line.len());
        }
    }
}

fn flush() {
    let _ = ::std::io::stdout().flush();
    let _ = ::std::io::stderr().flush();
}

fn leave(status: i32) -> ! {
    flush();
    unsafe { _exit(status) }
}

/// What a test function or the tests' `main` returned: `()` or a `Result`.
trait Outcome {
    fn outcome(self) -> ::std::result::Result<(), ::std::string::String>;
}

impl Outcome for () {
    fn outcome(self) -> ::std::result::Result<(), ::std::string::String> {
        ::std::result::Result::Ok(())
    }
}

impl<E: ::std::fmt::Debug> Outcome for ::std::result::Result<(), E> {
    fn outcome(self) -> ::std::result::Result<(), ::std::string::String> {
        self.map_err(|e| ::std::format!("{:?}", e))
    }
}

type Body = ::std::boxed::Box<dyn Fn() -> ::std::result::Result<(), ::std::string::String>>;

struct Test {
    name: &'static str,
    body: Body,
    should_panic: bool,
    expected: &'static str,
    ignore: bool,
}

fn entry<T: Outcome + 'static>(body: fn() -> T) -> Body {
    ::std::boxed::Box::new(move || body().outcome())
}

fn test<T: Outcome + 'static>(
    name: &'static str,
    body: fn() -> T,
    should_panic: bool,
    expected: &'static str,
    ignore: bool,
) -> Test {
    Test { name, body: entry(body), should_panic, expected, ignore }
}

/// `std::process::exit` in the tests (the executor rewrote their calls, with `SECRET`): it stops the tests' `main`
/// (or test function) there, as an exit would; 0 lets the run go on. Called without the secret (from the solution),
/// it is the exit it stands for.
struct TestsExit(i32);

pub fn tests_exit(secret: u64, status: i32) -> ! {
    if secret != SECRET {
        ::std::eprintln!("[runner] exit({}) called outside the tests", status);
        leave(status);
    }
    ::std::panic::resume_unwind(::std::boxed::Box::new(TestsExit(status)))
}

enum Ran {
    Returned,
    Failed(::std::string::String),
    Panicked(::std::string::String),
    Exited(i32),
}

fn run_one(body: &Body) -> Ran {
    let _ = ::std::panic::take_hook(); // the default hook again, whatever the solution set
    match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| body())) {
        ::std::result::Result::Ok(::std::result::Result::Ok(())) => Ran::Returned,
        ::std::result::Result::Ok(::std::result::Result::Err(error)) => Ran::Failed(error),
        ::std::result::Result::Err(payload) => {
            if let ::std::option::Option::Some(exit) = payload.downcast_ref::<TestsExit>() {
                return Ran::Exited(exit.0);
            }
            if let ::std::option::Option::Some(text) = payload.downcast_ref::<&'static str>() {
                return Ran::Panicked(::std::string::ToString::to_string(text));
            }
            if let ::std::option::Option::Some(text) = payload.downcast_ref::<::std::string::String>() {
                return Ran::Panicked(text.clone());
            }
            Ran::Panicked(::std::string::String::new())
        }
    }
}

fn run(main: ::std::option::Option<Body>, tests: ::std::vec::Vec<Test>) -> ! {
    say(&[b"phase", b"testing"]);
    let mut checks: i64 = 0;
    if let ::std::option::Option::Some(body) = main {
        checks = -1;
        match run_one(&body) {
            Ran::Returned | Ran::Exited(0) => {}
            Ran::Exited(status) => {
                ::std::eprintln!("[runner] the tests' main exited with status {}", status);
                leave(if status & 0xff != 0 { status & 0xff } else { 1 });
            }
            Ran::Failed(error) => {
                ::std::eprintln!("Error: {}", error);
                leave(1);
            }
            Ran::Panicked(_) => leave(101),
        }
    }
    let (mut passed, mut failed, mut ignored) = (0, 0, 0);
    if !tests.is_empty() {
        let plural = if tests.len() == 1 { "" } else { "s" };
        ::std::println!("\nrunning {} test{}", tests.len(), plural);
    }
    for test in &tests {
        if test.ignore {
            ::std::println!("test {} ... ignored", test.name);
            ignored += 1;
            continue;
        }
        flush();
        let verdict = match (run_one(&test.body), test.should_panic) {
            (Ran::Returned, false) | (Ran::Exited(0), false) => ::std::result::Result::Ok(()),
            (Ran::Panicked(message), true) => {
                if message.contains(test.expected) {
                    ::std::result::Result::Ok(())
                } else {
                    ::std::result::Result::Err(::std::format!(
                        "panic did not contain expected string\n      panic message: {:?}\n expected substring: {:?}",
                        message, test.expected
                    ))
                }
            }
            (Ran::Returned, true) | (Ran::Exited(0), true) => {
                ::std::result::Result::Err(::std::string::String::from("test did not panic as expected"))
            }
            (Ran::Failed(error), _) => ::std::result::Result::Err(::std::format!("Error: {}", error)),
            (Ran::Exited(status), _) => {
                ::std::result::Result::Err(::std::format!("the test exited with status {}", status))
            }
            (Ran::Panicked(_), false) => ::std::result::Result::Err(::std::string::String::new()),
        };
        match verdict {
            ::std::result::Result::Ok(()) => {
                ::std::println!("test {} ... ok", test.name);
                passed += 1;
            }
            ::std::result::Result::Err(why) => {
                ::std::println!("test {} ... FAILED", test.name);
                if !why.is_empty() {
                    ::std::println!("note: {}", why);
                }
                failed += 1;
            }
        }
    }
    if !tests.is_empty() {
        let result = if failed == 0 { "ok" } else { "FAILED" };
        ::std::println!("\ntest result: {}. {} passed; {} failed; {} ignored", result, passed, failed, ignored);
        if checks < 0 && passed == 0 && failed == 0 {
            checks = -1;
        } else {
            checks = passed;
        }
    }
    if failed > 0 {
        leave(101);
    }
    flush();
    unsafe {
        if TOKEN_LENGTH > 0 {
            let count = ::std::string::ToString::to_string(&checks);
            say(&[b"done", &TOKEN[..TOKEN_LENGTH], count.as_bytes()]);
        }
        _exit(0)
    }
}

<?php
// The executor's PHP runner: `php -d zend.assertions=1 -d assert.exception=1 _oss_runner.php` in a row's folder (see
// dataset_builder/execution/verdict.py).
//
// It reads the run's token (the pipe is then empty) and registers the first shutdown function, checks that
// solution.php parses (if not, it writes `unparsed TOKEN why`: a compile error, before any row code ran), loads it,
// puts back the assertion settings the solution changed (zend.assertions, assert.active, assert.exception, the
// assert callback and bail), then runs test.php at the global scope with every `exit`/`die` of the tests' own text
// turned into the runner's: 0 means the tests chose to end there, anything else is a failed check. The runner catches
// what the tests throw itself (printed as PHP would, status 255), so no exception handler of the solution sees it.
// Only when the tests returned and the assertion settings still hold does it write `done TOKEN -1` (plain asserts
// cannot be counted); its shutdown function then leaves before the solution's run. Any other end (an exit in the
// solution, at load or during the tests) writes no `done`.

final class OssRunner
{
    const SETTINGS = ['zend.assertions' => '1', 'assert.active' => '1', 'assert.exception' => '1', 'assert.bail' => '0',
        'assert.warning' => '1', 'assert.callback' => ''];

    private static $token = null;
    private static $out = null;
    private static $phase = null;
    private static $status = null;  // set when the runner itself decided how the run ends
    private static $finished = false;

    public static function start(): void
    {
        $in = getenv('OSS_VERDICT_IN');
        $token = fopen("php://fd/$in", 'r');
        self::$token = trim((string) fgets($token));
        fclose($token);
        self::$out = fopen('php://fd/' . getenv('OSS_VERDICT_OUT'), 'w');
        foreach (['OSS_VERDICT_IN', 'OSS_VERDICT_OUT'] as $name) {
            putenv($name);
            unset($_ENV[$name], $_SERVER[$name]);
        }
        register_shutdown_function([self::class, 'shutdown']);
    }

    /** A solution.php that does not parse ends the run here, before any of its code ran: `unparsed TOKEN why` (a
     * compile error). TOKEN_PARSE makes token_get_all parse the whole file without compiling or running it. */
    public static function parses(string $path): void
    {
        try {
            token_get_all(file_get_contents($path), TOKEN_PARSE);
        } catch (ParseError $e) {
            fwrite(STDERR, 'PHP Parse error:  ' . $e->getMessage() . " in solution.php on line {$e->getLine()}\n");
            self::say('unparsed ' . self::$token . ' solution.php does not parse');
            self::$status = 255;
            exit(255);
        }
    }

    public static function say(string $line): void
    {
        fwrite(self::$out, "$line\n");
        fflush(self::$out);
    }

    public static function phase(string $name): void
    {
        self::$phase = $name;
        self::say("phase $name");
    }

    /** The assertion settings the solution changed, put back; a setting that cannot be put back ends the run. */
    public static function restore(): void
    {
        $changed = self::changed();
        foreach ($changed as $name => $value) {
            ini_set($name, self::SETTINGS[$name]);
        }
        if ($changed) {
            echo '[runner] solution.php changed ', implode(', ', array_keys($changed)), "; set back\n";
        }
        if ($still = self::changed()) {
            self::refuse('the solution switched assertions off and they cannot be set back: ' . implode(', ', array_keys($still)));
        }
    }

    private static function changed(): array
    {
        $changed = [];
        foreach (self::SETTINGS as $name => $want) {
            $have = ini_get($name);
            if ((string) $have !== $want && !($want === '' && ($have === false || $have === null))) {
                $changed[$name] = $have;
            }
        }
        return $changed;
    }

    private static function refuse(string $why): void
    {
        fwrite(STDERR, "[runner] $why\n");
        self::say('incomplete ' . self::$token . " $why");
        self::$status = 1;
        exit(1);
    }

    /** test.php's code with its own `exit`/`die` calls turned into the runner's `OssRunner::testsExit`. */
    public static function tests(string $path): string
    {
        $tokens = token_get_all(file_get_contents($path));
        $opened = isset($tokens[0]) && is_array($tokens[0]) && $tokens[0][0] === T_OPEN_TAG;
        $code = $opened ? '' : '?>';  // eval starts in PHP mode; without the tag (dropped) the file starts as text
        foreach ($tokens as $i => $token) {
            if ($i === 0 && $opened) {
                $code .= str_repeat("\n", substr_count($token[1], "\n"));  // keep the line numbers
            } elseif (is_array($token) && $token[0] === T_EXIT) {
                $next = $i + 1;
                while (isset($tokens[$next]) && is_array($tokens[$next]) && $tokens[$next][0] === T_WHITESPACE) {
                    $next++;
                }
                $call = isset($tokens[$next]) && $tokens[$next] === '(';
                $code .= $call ? '\OssRunner::testsExit' : '\OssRunner::testsExit()';
            } else {
                $code .= is_array($token) ? $token[1] : $token;
            }
        }
        return $code;
    }

    /** Whether the caller of the runner's method that calls this is the tests' text (run by the runner's eval). */
    private static function calledFromTests(): bool
    {
        $frames = debug_backtrace(DEBUG_BACKTRACE_IGNORE_ARGS, 2);  // [1]: where the method was called
        return str_starts_with($frames[1]['file'] ?? '', __FILE__ . '(');
    }

    /** `exit`/`die` written in test.php: 0 (or a message) means the tests chose to end here. */
    public static function testsExit($status = 0): void
    {
        if (!self::calledFromTests() || self::$phase !== 'testing') {
            self::refuse('the runner\'s exit for the tests was called from outside test.php');
        }
        if (is_string($status)) {
            echo $status;
            $status = 0;
        }
        if ($status === 0) {
            self::finish();
        }
        fwrite(STDERR, "[runner] test.php exited with status $status\n");
        self::$status = is_int($status) && $status > 0 && $status < 256 ? $status : 1;
        exit(self::$status);
    }

    /** A throw out of the tests' code: reported as PHP reports an uncaught one. */
    public static function thrown(Throwable $e): void
    {
        $kind = $e instanceof ParseError ? 'Parse error' : 'Fatal error';
        $text = preg_replace("#\\S*_oss_runner\\.php\\(\\d+\\) : eval\\(\\)'d code#", 'test.php', "$e");
        fwrite(STDERR, "PHP $kind:  Uncaught $text\n");
        if (!$e instanceof ParseError && str_starts_with($e->getFile(), __FILE__ . '(')) {
            fwrite(STDERR, "[runner] a check in test.php failed (it threw)\n");  // the harness asks for a throw
        }
        self::$status = 255;
        exit(255);
    }

    /** The tests returned: called once, from the runner's own top level. */
    public static function end(): void
    {
        $frames = debug_backtrace(DEBUG_BACKTRACE_IGNORE_ARGS);
        if (count($frames) !== 1 || ($frames[0]['file'] ?? '') !== __FILE__ || self::$phase !== 'testing') {
            self::refuse('the runner\'s end was called from ' . ($frames[0]['file'] ?? '?') . ', not by the runner');
        }
        self::finish();
    }

    private static function finish(): void
    {
        if ($changed = self::changed()) {
            self::refuse('assertions were switched off during the tests: ' . implode(', ', array_keys($changed)));
        }
        self::say('done ' . self::$token . ' -1');
        self::$finished = true;
        self::$status = 0;
        exit(0);
    }

    /** The first shutdown function: leaves with the runner's status before the solution's shutdown functions run. */
    public static function shutdown(): void
    {
        if (self::$status !== null) {
            exit(self::$status);
        }
        $error = error_get_last();
        if ($error !== null && in_array($error['type'], [E_ERROR, E_PARSE, E_CORE_ERROR, E_COMPILE_ERROR], true)) {
            exit(255);  // PHP printed the fatal error (out of memory, ...)
        }
        $during = self::$phase === 'loading' ? 'while loading solution.php' : 'during the tests, before they returned';
        fwrite(STDERR, "[runner] exit called $during\n");
        self::say('incomplete ' . self::$token . " the solution called exit $during");
        exit(1);
    }
}

OssRunner::start();
OssRunner::parses(__DIR__ . '/solution.php');
OssRunner::phase('loading');
require __DIR__ . '/solution.php';
OssRunner::restore();
OssRunner::phase('testing');
try {
    eval(OssRunner::tests(__DIR__ . '/test.php'));
} catch (Throwable $e) {
    OssRunner::thrown($e);
}
OssRunner::end();

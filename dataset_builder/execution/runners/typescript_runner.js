// The executor's TypeScript runner: `node _oss_runner.js` in a row's folder, once tsc has compiled main.ts (the
// solution, then a marker line, then the tests) to main.js (see dataset_builder/execution/verdict.py).
//
// It reads the run's token and closes that pipe, then loads main.js. A `process.exit` while the solution's code loads
// is noted and the run ends there (the tests share its file). The marker line, `__ossTestsStart()`, is where the
// solution's top-level code has returned: the runner puts back `process.exit`, `console.assert`, node:assert's
// functions, `JSON.stringify`, `Object.is`, `util.isDeepStrictEqual` and its own `uncaughtException`,
// `unhandledRejection` and `exit` listeners (dropping the solution's). During the tests:
// - `process.exit(0)` written in the tests' lines means they chose to end there; another status is a failed check;
//   an exit from the solution's lines means the tests never returned;
// - a throw out of the tests' lines is a failed check, one out of the solution's a crash (runtime error);
// - a failed `console.assert` prints as Node's does, the tests go on, and the run fails at the end;
// - promises and timers run to the end (the event loop empties), and a status the tests set (`process.exitCode`,
//   `node:test`) counts.
// Only then does it write `done TOKEN CHECKS` (CHECKS: the console.assert calls, or -1) and leave at once, without
// running any other exit listener.
'use strict';

const fs = require('fs');
const path = require('path');
const util = require('util');

const MARKER = '__ossTestsStart';
const MAIN = path.join(__dirname, 'main.js');
const TYPE_ERRORS = path.join(__dirname, '_oss_type_errors.txt');

(function main() {
    const writeSync = fs.writeSync;
    const realExit = process.reallyExit.bind(process); // leaves without 'exit' listeners
    const stderr = (text) => writeSync(2, text.endsWith('\n') ? text : `${text}\n`);
    const tokenFd = Number(process.env.OSS_VERDICT_IN);
    const out = Number(process.env.OSS_VERDICT_OUT);
    delete process.env.OSS_VERDICT_IN;
    delete process.env.OSS_VERDICT_OUT;
    const buffer = Buffer.alloc(256);
    const read = fs.readSync(tokenFd, buffer, 0, buffer.length, null);
    fs.closeSync(tokenFd);
    const token = buffer.toString('utf8', 0, read).trim();
    const say = (...words) => writeSync(out, `${words.join(' ')}\n`);

    // what the tests check with, as Node has it before the solution loads; put back at the marker
    const assertModule = require('assert');
    const checkers = [
        [assertModule, { ...assertModule }],
        [assertModule.strict, { ...assertModule.strict }],
        [JSON, { stringify: JSON.stringify }],
        [Object, { is: Object.is }],
        [util, { isDeepStrictEqual: util.isDeepStrictEqual }],
    ];
    const checkersChanged = () =>
        checkers.some(([owner, saved]) => Object.keys(saved).some((key) => owner[key] !== saved[key]));

    let phase = 'loading';
    let checks = 0;
    let failedAsserts = 0;
    const typeErrors = fs.existsSync(TYPE_ERRORS) ? fs.readFileSync(TYPE_ERRORS, 'utf8').trim() : '';
    const mainLines = fs.readFileSync(MAIN, 'utf8').split('\n');
    const markerLine = mainLines.findIndex((line) => line.includes(`${MARKER}(`)) + 1;

    function typeErrorNote() {
        if (typeErrors) {
            const count = typeErrors.split('\n').filter((line) => /error TS\d+/.test(line)).length;
            const first = typeErrors.split('\n').find((line) => /error TS\d+/.test(line)) || '';
            stderr(`[runner] tsc found ${count} type error(s), run anyway (typescript_typecheck: report); first: ${first}`);
        }
    }

    function origin(stack) {
        // 'tests' or 'solution': which side of the marker the innermost frame in main.js is on
        const frame = /main\.js:(\d+):\d+/.exec(String(stack || ''));
        if (!frame || !markerLine) return null;
        return Number(frame[1]) > markerLine ? 'tests' : 'solution';
    }

    function fail(status, why) {
        if (why) stderr(`[runner] ${why}`);
        typeErrorNote();
        realExit(status);
    }

    function incomplete(why) {
        stderr(`[runner] ${why}`);
        say('incomplete', token, why);
        typeErrorNote();
        realExit(1);
    }

    function finish() {
        const meddled = [];
        if (process.exit !== exit) meddled.push('process.exit');
        if (console.assert !== consoleAssert) meddled.push('console.assert');
        for (const [event, listener] of [['uncaughtException', onUncaught], ['unhandledRejection', onRejection]]) {
            const listeners = process.listeners(event);
            if (listeners.length !== 1 || listeners[0] !== listener) meddled.push(`${event} listeners`);
        }
        if (process.hasUncaughtExceptionCaptureCallback()) meddled.push('an uncaught exception capture callback');
        if (checkersChanged()) meddled.push('node:assert, JSON.stringify, Object.is or util.isDeepStrictEqual');
        if (meddled.length) incomplete(`the tests' failure handling was replaced during the tests: ${meddled.join(', ')}`);
        if (failedAsserts) fail(1, `${failedAsserts} console.assert check(s) failed`);
        const status = Number(process.exitCode || 0);
        if (status !== 0) fail(status, `the tests set exit status ${status} (process.exitCode)`);
        typeErrorNote();
        say('done', token, checks || -1);
        realExit(0);
    }

    function exit(code) {
        const status = code === undefined || code === null ? Number(process.exitCode || 0) : Number(code) | 0;
        const where = origin(new Error().stack);
        if (phase === 'testing' && where === 'tests') {
            if (status === 0) finish();
            fail(status || 1, `the tests exited with status ${status}`);
        }
        const when = phase === 'loading' ? 'while loading' : 'during the tests, before they returned';
        incomplete(`the solution called process.exit(${status}) ${when}`);
    }

    function thrown(error, how) {
        const text = error instanceof Error ? error.stack || String(error) : `Uncaught ${util.inspect(error)}`;
        stderr(`${how}${text}`);
        if (phase === 'testing' && origin(error && error.stack) === 'tests') {
            fail(1, 'a check in the tests failed (it threw)');
        }
        fail(1);
    }

    function onUncaught(error) {
        thrown(error, '');
    }

    function onRejection(reason) {
        thrown(reason, 'Unhandled promise rejection: ');
    }

    function onExit(code) {
        if (phase !== 'testing') incomplete('the run ended while loading the solution');
        // 'exit' listeners added during the tests (a summary that sets process.exitCode) run first
        for (const listener of process.listeners('exit')) {
            if (listener === onExit) continue;
            try {
                listener.call(process, code);
            } catch (error) {
                thrown(error, '');
            }
        }
        const status = Number(process.exitCode || code || 0);
        if (status) fail(status, `the tests ended with status ${status}`);
        finish();
    }

    function consoleAssert(value, ...message) {
        checks += 1;
        if (!value) {
            failedAsserts += 1;
            stderr(message.length ? `Assertion failed: ${util.format(...message)}` : 'Assertion failed');
        }
    }

    function guard() {
        for (const [owner, saved] of checkers) Object.assign(owner, saved);
        process.exit = exit;
        console.assert = consoleAssert;
        for (const [event, listener] of [
            ['uncaughtException', onUncaught],
            ['unhandledRejection', onRejection],
            ['exit', onExit],
        ]) {
            process.removeAllListeners(event);
            process.on(event, listener);
        }
        process.setUncaughtExceptionCaptureCallback(null);
        process.exitCode = undefined;
        Error.stackTraceLimit = Math.max(Number(Error.stackTraceLimit) || 0, 10);
    }

    Object.defineProperty(globalThis, MARKER, {
        configurable: true,
        value() {
            if (phase !== 'loading') return;
            delete globalThis[MARKER];
            guard();
            phase = 'testing';
            say('phase', 'testing');
        },
    });
    if (!markerLine) fail(1, `main.js has no ${MARKER}() line: it was not laid out by the executor`);
    if (typeErrors) stderr(typeErrors);
    guard();
    say('phase', 'loading');
    try {
        require(MAIN);
    } catch (error) {
        thrown(error, '');
    }
    if (phase !== 'testing') incomplete('the tests never started (the solution\'s code did not return)');
})();

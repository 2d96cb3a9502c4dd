// The executor's tsc driver for `typescript_typecheck: report`: `node _oss_tsc.js TSC ARGS...` in a row's folder runs
// tsc (without --noEmitOnError). Type errors do not stop the row: they go to _oss_type_errors.txt, which the runner
// prints, and the tests run when tsc emitted main.js and Node can parse it. Anything else (no output, a syntax error)
// fails the compile with tsc's messages.
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');

const [script, ...args] = process.argv.slice(2);
const tsc = spawnSync(process.execPath, [...process.execArgv, script, ...args], { encoding: 'utf8' });
const said = `${tsc.stdout || ''}${tsc.stderr || ''}`;
if (tsc.error) {
    process.stderr.write(`tsc could not start: ${tsc.error.message}\n`);
    process.exit(1);
}
if (tsc.status === 0) process.exit(0);
process.stdout.write(said);
// tsc's exit status 2: errors, output generated; anything else: no output
if (tsc.status !== 2 || !fs.existsSync('main.js')) process.exit(tsc.status || 1);
const check = spawnSync(process.execPath, ['--check', 'main.js'], { encoding: 'utf8' });
if (check.status !== 0) {
    process.stdout.write(`${check.stdout || ''}${check.stderr || ''}`);
    process.exit(1);
}
fs.writeFileSync('_oss_type_errors.txt', said);

/**
 * CLI conventions of issue #18 (spawns the compiled bin/evident.js): `verify -` from stdin, NO_COLOR / FORCE_COLOR /
 * TERM=dumb, `completion bash|zsh|fish`, `version --json`, `serve` configured by environment variables (flags win),
 * `serve --origin` and the start-up error for a changed origin.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { useColor } from '../src/cli/util.ts';
import { cleanEnv, spawnListening } from './serve-process.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-cli-conv-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], o: { input?: string; env?: Record<string, string | undefined> } = {}) {
  const env: Record<string, string | undefined> = { ...cleanEnv(), NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: undefined, ...o.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(process.execPath, [BIN, ...args], { input: o.input, cwd: tmp, encoding: 'utf8', timeout: 60_000, env: env as NodeJS.ProcessEnv });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('useColor: NO_COLOR wins, FORCE_COLOR forces, TERM=dumb turns off, else only on a TTY', () => {
  assert.equal(useColor({ isTTY: true }, {}), true);
  assert.equal(useColor({ isTTY: false }, {}), false);
  assert.equal(useColor({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(useColor({ isTTY: true }, { NO_COLOR: '' }), true, 'an empty NO_COLOR is unset (no-color.org)');
  assert.equal(useColor({ isTTY: false }, { FORCE_COLOR: '1' }), true);
  assert.equal(useColor({ isTTY: false }, { FORCE_COLOR: '' }), true);
  assert.equal(useColor({ isTTY: true }, { FORCE_COLOR: '0' }), false);
  assert.equal(useColor({ isTTY: false }, { FORCE_COLOR: '1', NO_COLOR: '1' }), false);
  assert.equal(useColor({ isTTY: true }, { TERM: 'dumb' }), false);
  assert.equal(useColor({ isTTY: false }, { TERM: 'dumb', FORCE_COLOR: '1' }), true);
});

test('sign … | verify - reads the artifact from stdin; colour follows NO_COLOR / FORCE_COLOR', () => {
  assert.equal(run(['keys', 'generate', '--out', 'k']).code, 0);
  fs.writeFileSync(path.join(tmp, 'msg.txt'), 'hello\n');
  const env = run(['sign', '--key', 'k/private.pem', '--dsse', 'text/plain', 'msg.txt']);
  assert.equal(env.code, 0, env.stderr);
  const plain = run(['verify', '-', '--key', 'k/public.pem'], { input: env.stdout });
  assert.equal(plain.code, 0, plain.stdout + plain.stderr);
  assert.doesNotMatch(plain.stdout, /\x1b\[/, 'no colour on a pipe');
  const forced = run(['verify', '-', '--key', 'k/public.pem'], { input: env.stdout, env: { FORCE_COLOR: '1' } });
  assert.equal(forced.code, 0);
  assert.match(forced.stdout, /\x1b\[32m/);
  const both = run(['verify', '-', '--key', 'k/public.pem'], { input: env.stdout, env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
  assert.doesNotMatch(both.stdout, /\x1b\[/);
  const json = run(['verify', '-', '--key', 'k/public.pem', '--json'], { input: env.stdout });
  assert.equal((JSON.parse(json.stdout) as { valid: boolean }).valid, true);
  // stdin that is not an artifact: input error, one JSON object
  const junk = run(['verify', '-', '--key', 'k/public.pem', '--json'], { input: 'not json at all' });
  assert.equal(junk.code, 10);
  assert.equal(JSON.parse(junk.stdout).exitCode, 10);
  const empty = run(['verify', '-', '--key', 'k/public.pem'], { input: '' });
  assert.equal(empty.code, 10);
});

test('completion scripts for bash, zsh and fish name every command; bash and zsh scripts parse', () => {
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = run(['completion', shell]);
    assert.equal(r.code, 0, r.stderr);
    for (const word of ['verify', 'hashmatch', 'verify-tournament', 'witness', shell === 'fish' ? '-l \'log-key\'' : '--log-key', 'completion']) assert.ok(r.stdout.includes(word), `${shell} completion names ${word}`);
  }
  const bash = run(['completion', 'bash']).stdout;
  const file = path.join(tmp, 'evident.bash');
  fs.writeFileSync(file, bash);
  const syntax = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);
  // drive the bash completion function: `evident hashmatch verify-<TAB>` and `evident verify --lo<TAB>`
  const complete = (line: string) => {
    const words = line.split(' ');
    const script = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _evident; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return spawnSync('bash', ['-c', script], { encoding: 'utf8' }).stdout.trim().split('\n');
  };
  assert.deepEqual(complete('evident hashmatch verify-').sort(), ['verify-event', 'verify-match', 'verify-receipt', 'verify-tournament']);
  assert.ok(complete('evident verify --lo').includes('--log-key'));
  assert.equal(run(['completion', 'powershell']).code, 10);
});

test('every serve option can be set by an EVIDENT_* environment variable', async () => {
  const { buildFullProgram } = await import('../src/cli/main.ts');
  const serve = (await buildFullProgram()).commands.find((c) => c.name() === 'serve')!;
  const missing = serve.options.filter((o) => o.long !== '--help' && !/^EVIDENT_[A-Z_]+$/.test(o.envVar ?? '')).map((o) => o.long);
  assert.deepEqual(missing, []);
  const help = run(['serve', '--help']).stdout;
  assert.match(help, /env: EVIDENT_PORT/);
});

test('version --json: version, 40-hex commit of the build (or null), node', () => {
  const r = run(['version', '--json']);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout) as { version: string; commit: string | null; node: string };
  assert.equal(j.version, run(['--version']).stdout.trim());
  assert.ok(j.commit === null || /^[0-9a-f]{40}$/.test(j.commit));
  assert.equal(j.node, process.version);
  // --help of a command shows examples
  assert.match(run(['verify', '--help']).stdout, /Examples:\n {2}\$ evident verify /);
});

/** Start `evident serve` with `args`/`env`, once its start-up lines end ("verify an artifact: …", after the token). */
const serve = (args: string[], env: Record<string, string>) =>
  spawnListening(['serve', ...args], { cwd: tmp, env: cleanEnv(env), ready: /verify an artifact/ }).then((l) => ({ ...l, stderr: l.stderr() }));

test('serve: EVIDENT_* variables configure it, flags win, --origin names the log, a changed origin refuses to start', { timeout: 120_000 }, async () => {
  const dataDir = path.join(tmp, 'data');
  const s = await serve([], { EVIDENT_DATA_DIR: dataDir, EVIDENT_PORT: '0', EVIDENT_HOST: '127.0.0.1', EVIDENT_ORIGIN: 'test.example/evident-a' });
  try {
    assert.ok(fs.existsSync(path.join(dataDir, 'evident.db')), 'EVIDENT_DATA_DIR was used');
    assert.match(s.stderr, /admin token/);
    const cp = await (await fetch(`${s.url}/checkpoint`)).text();
    assert.equal(cp.split('\n')[0], 'test.example/evident-a');
  } finally {
    await s.stop();
  }
  // the flag wins over the variable: same origin by flag, a wrong one in the environment
  const s2 = await serve(['--origin', 'test.example/evident-a', '--port', '0'], { EVIDENT_DATA_DIR: dataDir, EVIDENT_PORT: 'not-a-port', EVIDENT_ORIGIN: 'other.example/x' });
  await s2.stop();
  // a different origin on the existing log: a clear start-up error, exit 10, nothing served
  await assert.rejects(serve([], { EVIDENT_DATA_DIR: dataDir, EVIDENT_PORT: '0', EVIDENT_ORIGIN: 'test.example/evident-b' }), (e: Error & { code?: number; stderr?: string }) => {
    assert.equal(e.code, 10);
    assert.match(e.stderr ?? '', /origin is "test\.example\/evident-a", not "test\.example\/evident-b".*fixed when it is created/);
    return true;
  });
  // an origin that is not a C2SP key name
  await assert.rejects(serve(['--origin', 'has space', '--port', '0'], { EVIDENT_DATA_DIR: path.join(tmp, 'data2') }), /--origin must be/);
  assert.equal(fs.existsSync(path.join(tmp, 'data2')), false, 'nothing created for a refused start');
});

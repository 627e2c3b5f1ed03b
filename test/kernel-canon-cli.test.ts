/** CLI: `evident canon`, `evident digest`, `--help` of every command (spawns bin/evident.js). */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { buildFullProgram } from '../src/cli/main.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-canon-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], input?: string | Buffer) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, cwd: tmp, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('evident canon: jcs / python / --ascii / --newline / --digest, coded exit 10 on every bad input', () => {
  const src = '{"b":1.0,"a":"é","c":[1e16,1E2,-0.0]}';
  assert.equal(run(['canon'], src).stdout, '{"a":"é","b":1,"c":[10000000000000000,100,0]}');
  assert.equal(run(['canon', '--profile', 'python'], src).stdout, '{"a":"é","b":1.0,"c":[1e+16,100.0,-0.0]}');
  assert.equal(run(['canon', '--profile', 'python', '--ascii', '--newline'], src).stdout, '{"a":"\\u00e9","b":1.0,"c":[1e+16,100.0,-0.0]}\n');
  const f = path.join(tmp, 'in.json');
  fs.writeFileSync(f, src);
  const d = run(['canon', '--digest', f]);
  assert.equal(d.stdout.trim(), 'sha256:' + createHash('sha256').update('{"a":"é","b":1,"c":[10000000000000000,100,0]}').digest('hex'));
  const bad: Array<[string[], string | Buffer, string]> = [
    [['canon'], '{"a":1,"a":2}', 'JSON_DUPLICATE_KEY'],
    [['canon'], '{"a":', 'JSON_SYNTAX'],
    [['canon'], '', 'JSON_SYNTAX'],
    [['canon'], '"\\ud800"', 'JSON_LONE_SURROGATE'],
    [['canon'], Buffer.from([0x22, 0xc3, 0x28, 0x22]), 'JSON_BAD_UTF8'],
    [['canon'], '['.repeat(1001) + ']'.repeat(1001), 'JSON_TOO_DEEP'],
    [['canon', '--max-depth', '3'], '[[[[1]]]]', 'JSON_TOO_DEEP'],
    [['canon', '--profile', 'python'], '{"v":1e400}', 'JSON_NOT_CANONICALIZABLE'],
    [['canon', '--ascii'], '{}', 'INPUT_INVALID'],
    [['canon', path.join(tmp, 'missing.json')], '', 'IO_ERROR'],
  ];
  for (const [args, input, code] of bad) {
    const r = run(args, input);
    assert.equal(r.code, 10, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^evident: ${code}: `), args.join(' '));
    assert.equal(r.stdout, '');
  }
  assert.equal(run(['canon', '--allow-duplicate-keys'], '{"a":1,"a":2}').stdout, '{"a":2}');
  assert.equal(run(['canon', '--profile', 'nope'], '{}').code, 10);
});

test('evident digest: stdin, files, several files, errors', () => {
  const a = path.join(tmp, 'a.bin');
  fs.writeFileSync(a, Buffer.alloc(3 << 20, 7));
  const want = 'sha256:' + createHash('sha256').update(fs.readFileSync(a)).digest('hex');
  assert.equal(run(['digest', a]).stdout, want + '\n');
  assert.equal(run(['digest'], 'abc').stdout, 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n');
  assert.equal(run(['digest', a, a]).stdout, `${want}  ${a}\n${want}  ${a}\n`);
  const r = run(['digest', path.join(tmp, 'nope')]);
  assert.equal(r.code, 10);
  assert.match(r.stderr, /IO_ERROR/);
  assert.equal(run(['digest', tmp]).code, 10);
});

test('every command has a description and --help exits 0', async () => {
  const walk = (c: Awaited<ReturnType<typeof buildFullProgram>>, names: string[]): string[][] => {
    const out: string[][] = [names];
    for (const s of c.commands) out.push(...walk(s as never, [...names, s.name()]));
    return out;
  };
  const program = await buildFullProgram();
  const all = walk(program, []);
  assert.ok(all.length > 8);
  for (const names of all) {
    let c = program;
    for (const n of names) c = c.commands.find((x) => x.name() === n) as never;
    assert.ok(c.description().length > 10, `"${names.join(' ')}" has a description`);
  }
  for (const names of [[], ['canon'], ['digest'], ['verify'], ['keys', 'generate'], ['sign']]) {
    const r = run([...names, '--help']);
    assert.equal(r.code, 0, names.join(' '));
    assert.match(r.stdout, /Usage: evident/);
  }
});

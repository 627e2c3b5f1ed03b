/**
 * No import circle in src/: a real import-graph walker over src/**\/*.ts.
 *
 * Rule: every relative import counts, type-only ones included (`import type`, `export type … from`,
 * `import('./x.ts').T`, dynamic `import()`), so a module graph that is acyclic here stays acyclic however the
 * compiler elides types. Imports are read with TypeScript's own pre-processor (comments and strings ignored).
 * The walker is checked against planted circles (a value circle, a type-only circle, a self-import) so it cannot
 * silently pass.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const SRC = path.resolve(import.meta.dirname, '..', 'src');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.isFile() && p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The module a relative specifier names (`./x.ts`, `./x.js` → x.ts, `./x` → x.ts or x/index.ts), if it exists. */
function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  const candidates = [base, base.replace(/\.(m|c)?js$/, '.ts'), `${base}.ts`, path.join(base, 'index.ts')];
  return candidates.find((c) => c.endsWith('.ts') && fs.existsSync(c) && fs.statSync(c).isFile());
}

/** file → the files it imports (relative imports of every kind). */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of tsFiles(root)) {
    const info = ts.preProcessFile(fs.readFileSync(f, 'utf8'), true, true);
    const deps = new Set<string>();
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolve(f, fileName);
      if (target) deps.add(target);
    }
    graph.set(f, [...deps]);
  }
  return graph;
}

/** Every import circle (one concrete path per strongly connected component), as root-relative paths. */
export function importCycles(graph: Map<string, string[]>, root: string): string[][] {
  // Tarjan's strongly connected components, iteratively (no recursion-depth limit)
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sccs: string[][] = [];
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ v: string; i: number }> = [{ v: start, i: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1]!;
      const deps = graph.get(top.v) ?? [];
      if (top.i < deps.length) {
        const w = deps[top.i++]!;
        if (!graph.has(w)) continue;
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) low.set(work[work.length - 1]!.v, Math.min(low.get(work[work.length - 1]!.v)!, low.get(top.v)!));
      if (low.get(top.v) === index.get(top.v)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== top.v);
        if (scc.length > 1 || (graph.get(top.v) ?? []).includes(top.v)) sccs.push(scc);
      }
    }
  }
  // one concrete circle inside each component (BFS from its first member back to itself)
  return sccs.map((scc) => {
    const members = new Set(scc);
    const first = [...scc].sort()[0]!;
    const prev = new Map<string, string>();
    const queue = [first];
    let end: string | undefined;
    while (queue.length && end === undefined) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!members.has(w)) continue;
        if (w === first) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const cycle = [first];
    for (let v = end!; v !== first; v = prev.get(v)!) cycle.splice(1, 0, v);
    cycle.push(first);
    return cycle.map((p) => path.relative(root, p));
  });
}

test('src/ has no import circle (type-only imports included)', () => {
  const graph = importGraph(SRC);
  assert.ok(graph.size > 50, `walked ${graph.size} modules`);
  const edges = [...graph.values()].reduce((n, d) => n + d.length, 0);
  assert.ok(edges > graph.size, `found ${edges} imports`);
  const cycles = importCycles(graph, SRC);
  assert.deepEqual(cycles.map((c) => c.join(' → ')), []);
});

test('the detector layering: detectors import the contract (verify/input.ts), never detect.ts or detectors.ts', () => {
  const graph = importGraph(SRC);
  const detect = path.join(SRC, 'verify', 'detect.ts');
  const list = path.join(SRC, 'verify', 'detectors.ts');
  for (const [f, deps] of graph) {
    if (f === detect || f === list) continue;
    if (!/detector/.test(path.basename(f))) continue;
    assert.ok(!deps.includes(detect) && !deps.includes(list), `${path.relative(SRC, f)} imports the dispatcher`);
  }
  // and the server's shared context imports no route module
  const ctx = path.join(SRC, 'server', 'context.ts');
  for (const d of graph.get(ctx) ?? []) assert.ok(!d.includes(`${path.sep}routes${path.sep}`), `context.ts imports ${d}`);
});

test('the walker finds planted circles: value, type-only, via export-from and import(), and a self-import', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-cycles-'));
  try {
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    };
    write('a.ts', "import { b } from './b.ts';\nexport const a = () => b;\n");
    write('b.ts', "// import { nothing } from './z.ts'\nimport { a } from './a.ts';\nexport const b = () => a;\n");
    write('t/x.ts', "import type { Y } from './y.ts';\nexport interface X { y?: Y }\n");
    write('t/y.ts', "export type { X as Y } from './z.ts';\n");
    write('t/z.ts', "export interface X { x?: import('./x.ts').X }\n");
    write('self.ts', "export const s = 1;\nexport * from './self.ts';\n");
    write('ok/p.ts', "import { q } from './q.ts';\nconst s = \"import { p } from './p.ts'\";\nexport const p = q + s;\n");
    write('ok/q.ts', "export const q = 'q';\n");
    const cycles = importCycles(importGraph(root), root);
    const asText = cycles.map((c) => c.join(' → ')).sort();
    assert.deepEqual(asText, ['a.ts → b.ts → a.ts', 'self.ts → self.ts', 't/x.ts → t/y.ts → t/z.ts → t/x.ts']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

/**
 * The offline verifier page: the files the user drops or picks go into the page's in-memory file system
 * (./shims/fs.ts), the form becomes an `evident verify` command line, and runVerify — the function behind the
 * CLI command — produces the report. The page shows its ordered checks and offers the `--json` object, byte for
 * byte what `evident verify … --json` prints for the same files. It makes no network request (its CSP forbids it).
 */
import { Buffer } from './shims/buffer.ts';
import { runVerify, reportForError } from '../verify/run.ts';
import { listFormats } from '../verify/detect.ts';
import type { ReportJson } from '../verify/report.ts';
import { mountFile, unmountAll, mountedFiles } from './shims/fs.ts';
import { commandLine, parseVerifyArgs, splitCommandLine } from './args.ts';
import type { VerifyFlags } from '../verify/run.ts';

declare const __EVIDENT_VERSION__: string;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** The `--json` stdout of `evident verify` for these arguments (the files must be mounted). */
export async function verifyArgs(argv: string[]): Promise<string> {
  let report: ReportJson;
  const saved = { ...process.env };
  try {
    const { artifact, flags, env } = parseVerifyArgs(argv);
    Object.assign(process.env, env);
    report = (await runVerify(artifact, flags)).toJSON();
  } catch (e) {
    report = reportForError(e);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  return JSON.stringify(report) + '\n';
}

// ---- files ------------------------------------------------------------------------------------------------------

let pasted = 0;

/** The keys of a JWKS (`{"keys": [...]}`), or undefined when `bytes` is not one. */
function jwksKeys(bytes: Uint8Array): object[] | undefined {
  if (bytes.length > 1 << 20) return undefined;
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as { keys?: unknown };
    if (v && typeof v === 'object' && Array.isArray(v.keys) && v.keys.length > 0 && v.keys.every((k) => k && typeof k === 'object' && !Array.isArray(k))) return v.keys as object[];
  } catch {
    // not JSON: not a JWKS
  }
  return undefined;
}

/**
 * Mount a file; a JWKS also gets one file per key beside it (`NAME.keys/0-KID.jwk.json`), because `--key` takes one
 * key per file (as in the CLI, which the shown command line must match). Returns the per-key paths.
 */
function mountWithKeys(rel: string, bytes: Uint8Array, mtimeMs?: number): string[] {
  mountFile(rel, bytes, mtimeMs);
  const keys = jwksKeys(bytes);
  if (!keys) return [];
  return keys.map((k, i) => {
    const kid = typeof (k as { kid?: unknown }).kid === 'string' ? '-' + (k as { kid: string }).kid.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40) : '';
    const p = `${rel}.keys/${i}${kid}.jwk.json`;
    mountFile(p, Buffer.from(JSON.stringify(k) + '\n', 'utf8'), mtimeMs);
    return p;
  });
}

async function addFiles(list: FileList | File[], viaFolder: boolean): Promise<void> {
  for (const f of Array.from(list)) {
    const rel = (viaFolder && (f as File & { webkitRelativePath?: string }).webkitRelativePath) || f.name;
    // a JWKS is split into key files only when picked as a file: inside a folder (a WCP package) it stays as is
    const bytes = new Uint8Array(await f.arrayBuffer());
    const split = viaFolder ? (mountFile(rel, bytes, f.lastModified), []) : mountWithKeys(rel, bytes, f.lastModified);
    if (split.length) announce(`${rel} is a JWKS: its ${split.length} key(s) are listed as ${rel}.keys/…`);
  }
  refreshFiles();
}

/** Files dropped from a file manager, folders included (webkitGetAsEntry walks them). */
async function addDropped(dt: DataTransfer): Promise<void> {
  const entries = Array.from(dt.items)
    .map((i) => (i as DataTransferItem & { webkitGetAsEntry?: () => FileSystemEntry | null }).webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return addFiles(dt.files, false);
  const walk = async (e: FileSystemEntry, prefix: string): Promise<void> => {
    if (e.isFile) {
      const f = await new Promise<File>((res, rej) => (e as FileSystemFileEntry).file(res, rej));
      const bytes = new Uint8Array(await f.arrayBuffer());
      if (prefix) mountFile(prefix + e.name, bytes, f.lastModified);
      else mountWithKeys(e.name, bytes, f.lastModified);
    } else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const c of batch) await walk(c, `${prefix}${e.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  refreshFiles();
}

/** Top-level paths a user may verify: every file, and every folder (HashMatch match folders, WCP packages). */
function candidates(): string[] {
  const files = mountedFiles().map((p) => p.slice(1));
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...[...dirs].map((d) => d + '/'), ...files].sort();
}

function fillSelect(sel: HTMLSelectElement, values: string[], blank: string | undefined): void {
  const keep = new Set(Array.from(sel.selectedOptions).map((o) => o.value));
  sel.replaceChildren();
  if (blank !== undefined) sel.append(new Option(blank, ''));
  for (const v of values) {
    const o = new Option(v, v.endsWith('/') ? v.slice(0, -1) : v);
    o.selected = keep.has(o.value);
    sel.append(o);
  }
}

const FILE_SELECTS: Array<[string, string | undefined]> = [
  ['f-artifact', undefined],
  ['f-key', undefined],
  ['f-trust', '(none)'],
  ['f-trusted-root', '(none)'],
  ['f-log-key', '(none)'],
  ['f-challenge', '(none)'],
  ['f-seal-registry', '(none)'],
  ['f-jwk', '(none)'],
  ['f-entry', '(none)'],
  ['f-ban-list', '(none)'],
  ['f-covered', undefined],
];

function refreshFiles(): void {
  const files = mountedFiles().map((p) => p.slice(1));
  const list = $('file-list');
  list.replaceChildren(...files.map((f) => Object.assign(document.createElement('li'), { textContent: f })));
  $('file-count').textContent = files.length === 1 ? '1 file' : `${files.length} files`;
  for (const [id, blank] of FILE_SELECTS) fillSelect($(id), id === 'f-artifact' ? candidates() : files, blank);
  updateCommand();
}

// ---- form ↔ command line ----------------------------------------------------------------------------------------

function val(id: string): string | undefined {
  const v = ($(id) as HTMLInputElement).value.trim();
  return v === '' ? undefined : v;
}

function multi(id: string): string[] | undefined {
  const v = Array.from(($(id) as HTMLSelectElement).selectedOptions).map((o) => o.value).filter(Boolean);
  return v.length ? v : undefined;
}

function lines(id: string): string[] | undefined {
  const v = (($(id) as HTMLTextAreaElement).value ?? '').split('\n').map((s) => s.trim()).filter(Boolean);
  return v.length ? v : undefined;
}

function formFlags(): { artifact: string; flags: VerifyFlags; env: Record<string, string> } {
  const mode = (document.querySelector('input[name="mode"]:checked') as HTMLInputElement | null)?.value === 'compat' ? 'compat' : 'strict';
  const flags: VerifyFlags = {
    mode,
    key: multi('f-key'),
    trust: val('f-trust'),
    trustedRoot: val('f-trusted-root'),
    logKey: val('f-log-key-text') ?? val('f-log-key'),
    challenge: val('f-challenge'),
    sealRegistry: val('f-seal-registry'),
    jwk: val('f-jwk'),
    entry: val('f-entry'),
    leafHash: val('f-leaf-hash'),
    banList: val('f-ban-list'),
    artifact: multi('f-covered'),
    witness: lines('f-witness'),
    witnessQuorum: val('f-witness-quorum'),
    now: val('f-now'),
    workerId: val('f-worker-id'),
    species: val('f-species'),
    certificateIdentity: val('f-cert-identity'),
    certificateIdentityRegexp: val('f-cert-identity-re'),
    certificateOidcIssuer: val('f-cert-issuer'),
    format: val('f-format'),
  };
  const env: Record<string, string> = {};
  const secret = val('f-wcp-secret');
  if (secret !== undefined) env.WCP_ATTEST_HMAC_KEY = secret;
  return { artifact: val('f-artifact') ?? '', flags, env };
}

function updateCommand(): void {
  const { artifact, flags, env } = formFlags();
  ($('cmd') as HTMLInputElement).value = artifact ? commandLine(artifact, flags, env) : '';
}

function addPastedKey(): void {
  const ta = $('f-paste') as HTMLTextAreaElement;
  const text = ta.value.trim();
  if (!text) return;
  pasted++;
  const bytes = Buffer.from(text + '\n', 'utf8');
  const isJwks = jwksKeys(bytes) !== undefined;
  const ext = isJwks ? 'jwks.json' : text.startsWith('{') ? 'jwk.json' : text.includes('-----BEGIN') ? 'pem' : 'vkey';
  const name = `pasted/key-${pasted}.${ext}`;
  const split = mountWithKeys(name, bytes);
  const chosen = split.length ? split : [name];
  ta.value = '';
  refreshFiles();
  const sel = $('f-key') as HTMLSelectElement;
  for (const o of Array.from(sel.options)) if (chosen.includes(o.value)) o.selected = true;
  updateCommand();
  announce(`Added ${chosen.join(', ')} and selected ${chosen.length === 1 ? 'it' : 'them'} as pinned key(s).`);
}

// ---- results ----------------------------------------------------------------------------------------------------

function announce(text: string): void {
  $('live').textContent = text;
}

const EXIT_MEANING: Record<number, string> = { 0: 'valid', 1: 'policy failure', 2: 'integrity failure', 3: 'signature invalid or missing', 4: 'key problem', 10: 'input problem' };

let lastJson = '';

function show(json: string): void {
  lastJson = json;
  const r = JSON.parse(json) as ReportJson;
  const verdict = $('verdict');
  verdict.className = r.valid ? 'verdict ok' : 'verdict bad';
  verdict.textContent = `${r.valid ? '✔ Valid' : '✘ Not valid'} — ${r.format}, ${r.mode} mode, exit code ${r.exitCode} (${EXIT_MEANING[r.exitCode] ?? 'error'})`;
  const body = $('checks');
  body.replaceChildren(
    ...r.checks.map((c) => {
      const tr = document.createElement('tr');
      tr.className = c.ok ? 'ok' : 'bad';
      const cells = [c.ok ? '✔' : '✘', c.id, c.code, c.message + (c.expected !== undefined ? `\nexpected: ${c.expected}` : '') + (c.actual !== undefined ? `\nactual:   ${c.actual}` : '')];
      for (const [i, t] of cells.entries()) {
        const td = document.createElement(i === 1 ? 'th' : 'td');
        if (i === 1) td.setAttribute('scope', 'row');
        td.textContent = t;
        if (i === 0) td.setAttribute('aria-label', c.ok ? 'passed' : 'failed');
        tr.append(td);
      }
      return tr;
    }),
  );
  $('json').textContent = json;
  $('results').hidden = false;
  ($('download') as HTMLButtonElement).disabled = false;
  announce(verdict.textContent);
}

async function runCommand(): Promise<void> {
  const line = ($('cmd') as HTMLInputElement).value;
  document.body.dataset.state = 'running';
  let json: string;
  try {
    json = await verifyArgs(splitCommandLine(line));
  } catch (e) {
    json = JSON.stringify(reportForError(e)) + '\n';
  }
  show(json);
  document.body.dataset.state = 'done';
}

function download(): void {
  const url = URL.createObjectURL(new Blob([lastJson], { type: 'application/json' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: 'evident-report.json' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

// ---- wiring -----------------------------------------------------------------------------------------------------

function init(): void {
  $('version').textContent = __EVIDENT_VERSION__;
  $('formats').textContent = listFormats().join(', ');
  $('format-list').replaceChildren(...listFormats().map((f) => new Option(f, f)));
  $('pick-files').addEventListener('change', (e) => void addFiles((e.target as HTMLInputElement).files!, false));
  $('pick-folder').addEventListener('change', (e) => void addFiles((e.target as HTMLInputElement).files!, true));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer) void addDropped(e.dataTransfer);
  });
  $('clear').addEventListener('click', () => {
    unmountAll();
    refreshFiles();
    announce('All files removed.');
  });
  $('add-key').addEventListener('click', addPastedKey);
  // the form writes the command line; editing the command line itself leaves it as typed
  const fromForm = (e: Event) => {
    if ((e.target as HTMLElement | null)?.id !== 'cmd') updateCommand();
  };
  $('form').addEventListener('input', fromForm);
  $('form').addEventListener('change', fromForm);
  $('form').addEventListener('submit', (e) => {
    e.preventDefault();
    void runCommand();
  });
  $('download').addEventListener('click', download);
  $('copy').addEventListener('click', () => void navigator.clipboard?.writeText(lastJson));
  refreshFiles();
  document.body.dataset.state = 'ready';
}

/** For automation (the CI test) and the console: the same calls the form makes. */
Object.assign(globalThis, {
  evidentPage: {
    mount(files: Array<{ path: string; base64: string; mtimeMs?: number }>): void {
      for (const f of files) mountFile(f.path, Buffer.from(f.base64, 'base64'), f.mtimeMs);
      refreshFiles();
    },
    clear(): void {
      unmountAll();
      refreshFiles();
    },
    verifyArgs,
    files: () => mountedFiles(),
  },
});

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();

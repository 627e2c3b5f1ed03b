/**
 * The service's metrics (prom-client, one registry per server instance), served by routes/health.ts at
 * GET /metrics in the Prometheus text format (every family with # HELP and # TYPE):
 *
 *   evident_http_requests_total{method,route,status}              counter    responses (route = the route template)
 *   evident_http_request_duration_seconds{method,route,status}    histogram  request latency, per route
 *   evident_receipts_issued_total                                 counter    POST /v1/receipts 201
 *   evident_verify_total{format,valid,exit_code}                  counter    POST /v1/verify outcomes
 *   evident_log_size                                              gauge      entries in the transparency log
 *   evident_log_checkpoint_size                                   gauge      tree size of the latest checkpoint
 *   evident_log_checkpoint_age_seconds                            gauge      since this instance saw the checkpoint change
 *   evident_log_sequencer                                         gauge      1 while this instance sequences the log
 *   evident_log_pending_appends{state="queued"|"forwarded"}       gauge      appends waiting in this process
 *   evident_key_rotations_total, evident_key_revocations_total, evident_wcp_*_total, evident_cphar_*_total,
 *   evident_engine_attestations_total{result}                     counter    per-area events (RouteContext.bump)
 *   evident_process_*, evident_nodejs_*                           (prom-client default metrics: CPU, memory,
 *                                                                  file descriptors, event-loop lag, GC, heap)
 *
 * Labels never carry tokens, bodies or ids: route is the template (`/v1/receipts/:id`), 404s are `unknown`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TransparencyLog } from '../log/index.ts';

/** HELP text of the counters route modules bump by name. */
const HELP: Record<string, string> = {
  evident_receipts_issued_total: 'Receipts issued (POST /v1/receipts answered 201).',
  evident_key_rotations_total: 'Service signing key rotations (POST /v1/keys/rotate).',
  evident_key_revocations_total: 'Service signing key revocations (POST /v1/keys/{kid}/revoke).',
  evident_wcp_enrollments_total: 'WCP registry enrollments (POST /v1/wcp/enroll).',
  evident_wcp_bans_total: 'WCP ban-list additions (POST /v1/wcp/ban-list).',
  evident_wcp_unbans_total: 'WCP bans lifted (DELETE /v1/wcp/ban-list/{sha256}).',
  evident_cphar_seals_registered_total: 'CPHAR seals registered (POST /v1/seals).',
  evident_cphar_challenges_issued_total: 'CPHAR challenges issued (POST /v1/challenges).',
  evident_cphar_attestations_total: 'CPHAR attestations verified, by result (OK or the refusal reason).',
  evident_engine_attestations_total: 'HarmonyØ4 engine attestations served, by result.',
};

const SERIES = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** `name{a="x",b="y"}` → name and labels. */
function parseSeries(series: string): { name: string; labels: Record<string, string> } {
  const m = SERIES.exec(series);
  if (!m) throw new Error(`not a metric series: ${series}`);
  const labels: Record<string, string> = {};
  for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
  return { name: m[1]!, labels };
}

export interface MetricsSources {
  /** The transparency log (size, checkpoint, sequencer role, pending appends). */
  log?: TransparencyLog;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter<string>>();
  private readonly requests: Counter<string>;
  private readonly latency: Histogram<string>;
  private readonly verifies: Counter<string>;
  private lastCheckpoint: string | undefined;
  private checkpointSeenAt = Date.now();

  constructor(sources: MetricsSources = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'evident_' });
    this.requests = new Counter({
      name: 'evident_http_requests_total',
      help: 'HTTP responses by method, route template and status code.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'evident_http_request_duration_seconds',
      help: 'HTTP request latency (first byte in to response sent) by method, route template and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.verifies = new Counter({
      name: 'evident_verify_total',
      help: 'POST /v1/verify outcomes by detected format, validity and exit code (0 valid, 1 policy, 2 integrity, 3 signature, 4 key, 10 input).',
      labelNames: ['format', 'valid', 'exit_code'],
      registers,
    });
    // counters every deployment shows, even at zero
    this.counter('evident_receipts_issued_total', []);
    const log = sources.log;
    if (log) {
      // one state read per scrape, shared by the log gauges
      let state: Promise<{ size: number; checkpointSize: number | undefined }> | undefined;
      const read = () =>
        (state ??= (async () => {
          const size = await log.size();
          let checkpointSize: number | undefined;
          try {
            const cp = await log.latestCheckpoint();
            if (cp !== this.lastCheckpoint) {
              if (this.lastCheckpoint !== undefined) this.checkpointSeenAt = Date.now();
              this.lastCheckpoint = cp;
            }
            const n = Number(cp.split('\n')[1]);
            checkpointSize = Number.isSafeInteger(n) ? n : undefined;
          } catch {
            checkpointSize = undefined; // no checkpoint yet
          }
          return { size, checkpointSize };
        })().finally(() => setTimeout(() => (state = undefined), 0)));
      new Gauge({
        name: 'evident_log_size',
        help: 'Entries in the transparency log.',
        registers,
        async collect() {
          this.set((await read()).size);
        },
      });
      const seenAt = () => this.checkpointSeenAt;
      new Gauge({
        name: 'evident_log_checkpoint_size',
        help: 'Tree size of the latest signed checkpoint.',
        registers,
        async collect() {
          const s = (await read()).checkpointSize;
          if (s !== undefined) this.set(s);
        },
      });
      new Gauge({
        name: 'evident_log_checkpoint_age_seconds',
        help: 'Seconds since this instance saw the latest checkpoint change (since start-up until it first changes).',
        registers,
        async collect() {
          await read();
          this.set((Date.now() - seenAt()) / 1000);
        },
      });
      new Gauge({
        name: 'evident_log_sequencer',
        help: '1 while this instance sequences the log (SQLite with a signer, or holding the PostgreSQL sequencer role), 0 while it forwards its appends.',
        registers,
        collect() {
          this.set(log.isSequencer() ? 1 : 0);
        },
      });
      new Gauge({
        name: 'evident_log_pending_appends',
        help: 'Appends waiting in this process: queued for the next commit, or forwarded to the sequencer and not yet acknowledged.',
        labelNames: ['state'],
        registers,
        collect() {
          const p = log.pendingAppends?.() ?? { queued: 0, forwarded: 0 };
          this.set({ state: 'queued' }, p.queued);
          this.set({ state: 'forwarded' }, p.forwarded);
        },
      });
    }
  }

  private counter(name: string, labelNames: string[]): Counter<string> {
    let c = this.counters.get(name);
    if (!c) {
      c = new Counter({ name, help: HELP[name] ?? `Evident events: ${name}.`, labelNames, registers: [this.registry] });
      this.counters.set(name, c);
    }
    return c;
  }

  /** Increment a counter series (full series name with labels, e.g. `evident_x_total{result="OK"}`). */
  bump(series: string): void {
    const { name, labels } = parseSeries(series);
    const keys = Object.keys(labels);
    const c = this.counter(name, keys);
    if (keys.length) c.inc(labels);
    else c.inc();
  }

  /** One HTTP response (onResponse): count and latency. */
  observeRequest(method: string, route: string, status: number, seconds?: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    if (seconds !== undefined) this.latency.observe(labels, seconds);
  }

  /** One POST /v1/verify outcome. */
  observeVerify(format: string, valid: boolean, exitCode?: number): void {
    this.verifies.inc({ format: format.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64), valid: String(valid), exit_code: String(exitCode ?? (valid ? 0 : 10)) });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

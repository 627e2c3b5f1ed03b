/**
 * The service's metrics (Prometheus text format), served by routes/health.ts at GET /metrics.
 */
export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly verifyCounters = new Map<string, number>();

  /** Increment a counter series (full series name with labels). */
  bump(series: string): void {
    this.counters.set(series, (this.counters.get(series) ?? 0) + 1);
  }

  /** One HTTP response (onResponse). */
  observeRequest(method: string, route: string, status: number): void {
    this.bump(`evident_http_requests_total{method="${method}",route="${route}",status="${status}"}`);
  }

  /** One POST /v1/verify outcome. */
  observeVerify(format: string, valid: boolean, _exitCode?: number): void {
    const k = `evident_verify_total{format="${format.replace(/[^A-Za-z0-9_.-]/g, '_')}",valid="${valid}"}`;
    this.verifyCounters.set(k, (this.verifyCounters.get(k) ?? 0) + 1);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    const lines = ['# TYPE evident_http_requests_total counter'];
    for (const [k, v] of [...this.counters].sort()) lines.push(`${k} ${v}`);
    lines.push('# TYPE evident_verify_total counter');
    for (const [k, v] of [...this.verifyCounters].sort()) lines.push(`${k} ${v}`);
    lines.push('# TYPE evident_process_resident_memory_bytes gauge', `evident_process_resident_memory_bytes ${process.memoryUsage().rss}`);
    return { contentType: 'text/plain; version=0.0.4', text: lines.join('\n') + '\n' };
  }
}

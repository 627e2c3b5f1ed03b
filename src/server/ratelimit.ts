/** Per-token token-bucket rate limiting for write routes (in memory, per process). */
export interface RateLimitOptions {
  /** Sustained requests per second per token. */
  perSecond: number;
  /** Bucket size (burst). */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 2000, burst: 4000 };

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly o: RateLimitOptions = DEFAULT_RATE_LIMIT) {}

  /** Take one request from `key`'s bucket: 0 when allowed, else the seconds to wait. */
  take(key: string, now = Date.now()): number {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 100_000) this.buckets.clear(); // bounded memory
      b = { tokens: this.o.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) / 1000) * this.o.perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.o.perSecond));
  }
}

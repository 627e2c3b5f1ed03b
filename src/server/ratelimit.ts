/** Per-token token-bucket rate limiting for write routes (in memory, per process). */
export interface RateLimitOptions {
  /** Sustained requests per second per token. */
  perSecond: number;
  /** Bucket size (burst). */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 2000, burst: 4000 };

/** Token buckets keyed by a string (a token, a client address), refilled continuously; bounded in number. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(readonly o: RateLimitOptions) {}

  /** Whether `key` has a bucket yet (a key never seen has a full one). */
  has(key: string): boolean {
    return this.buckets.has(key);
  }

  /** `key`'s bucket, refilled up to `now`. */
  bucket(key: string, now: number): { tokens: number; at: number } {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 100_000) this.buckets.clear(); // bounded memory
      b = { tokens: this.o.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) / 1000) * this.o.perSecond);
    b.at = now;
    return b;
  }

  /** Seconds until a bucket holding `tokens` has one whole token again (0 when it has one). */
  waitFor(tokens: number): number {
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.o.perSecond));
  }
}

export class RateLimiter {
  private readonly buckets: TokenBuckets;
  constructor(o: RateLimitOptions = DEFAULT_RATE_LIMIT) {
    this.buckets = new TokenBuckets(o);
  }

  /** Take one request from `key`'s bucket: 0 when allowed, else the seconds to wait. */
  take(key: string, now = Date.now()): number {
    const b = this.buckets.bucket(key, now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return this.buckets.waitFor(b.tokens);
  }
}

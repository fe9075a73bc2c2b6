/** Returns a number in [0, 1), like Math.random; injected so tests can pin the jitter. */
export type RandomSource = () => number;

export interface FullJitterBackoffOptions {
  /** First ceiling, in ms (1 s by default). */
  baseMs?: number;
  /** Largest ceiling, in ms (60 s by default). */
  capMs?: number;
  random?: RandomSource;
}

/**
 * Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): attempt n waits a uniform random time in [0, min(cap, base·2ⁿ)). Full jitter spreads a
 * fleet that lost its hub at the same instant over the whole window, so a hub restart under
 * 10 000 agents does not become a thundering herd. `reset()` after a success (a Welcome received)
 * starts again from the base.
 */
export class FullJitterBackoff {
  readonly baseMs: number;
  readonly capMs: number;
  private readonly random: RandomSource;
  private attempt = 0;

  constructor(options: FullJitterBackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 1_000;
    this.capMs = options.capMs ?? 60_000;
    this.random = options.random ?? Math.random;
    if (!(this.baseMs > 0) || !(this.capMs >= this.baseMs)) {
      throw new RangeError(`Invalid backoff: base ${this.baseMs} ms and cap ${this.capMs} ms need 0 < base <= cap`);
    }
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The ceiling of the next delay; grows 1 s, 2 s, 4 s … up to the cap. */
  ceilingMs(): number {
    // 2^attempt overflows to Infinity long after it passes the cap; min() keeps it finite.
    return Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
  }

  /** The delay before the next attempt, and counts the attempt. */
  next(): number {
    const ceiling = this.ceilingMs();
    this.attempt++;
    const r = this.random();
    // Clamp a misbehaving random source into [0, 1) instead of returning a delay above the cap.
    return Math.floor(ceiling * Math.min(Math.max(r, 0), 1 - Number.EPSILON));
  }

  reset(): void {
    this.attempt = 0;
  }
}

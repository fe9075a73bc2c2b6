import { expect } from "chai";
import { FullJitterBackoff } from "../../lib/backoff/full-jitter-backoff.js";

describe("FullJitterBackoff", () => {
  it("doubles the ceiling from 1 s up to the 60 s cap", () => {
    const b = new FullJitterBackoff({ random: () => 0.999999 });
    const delays = Array.from({ length: 9 }, () => b.next());
    expect(delays.map((d) => Math.ceil(d / 1000))).to.deep.equal([1, 2, 4, 8, 16, 32, 60, 60, 60]);
    expect(delays.every((d) => d < 60_000)).to.equal(true);
  });

  it("draws each delay uniformly below the ceiling (full jitter)", () => {
    const draws = [0, 0.5, 0.25];
    const b = new FullJitterBackoff({ random: () => draws.shift()! });
    expect([b.next(), b.next(), b.next()]).to.deep.equal([0, 1000, 1000]);
  });

  it("starts again from the base after a reset", () => {
    const b = new FullJitterBackoff({ random: () => 0.5 });
    for (let i = 0; i < 10; i++) b.next();
    expect(b.ceilingMs()).to.equal(60_000);
    b.reset();
    expect(b.attempts).to.equal(0);
    expect(b.next()).to.equal(500);
  });

  it("stays finite and capped after thousands of failures", () => {
    const b = new FullJitterBackoff({ random: () => 0.5 });
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).to.equal(30_000);
  });

  it("keeps a delay below the cap even when the random source returns 1 or more", () => {
    const b = new FullJitterBackoff({ baseMs: 100, capMs: 100, random: () => 1.5 });
    expect(b.next()).to.be.below(100);
    expect(new FullJitterBackoff({ random: () => -1 }).next()).to.equal(0);
  });

  it("spreads a fleet over the window instead of bunching it", () => {
    // 10 000 agents on their 7th attempt: every 6-second slice of the 60 s window gets some.
    const slices = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const b = new FullJitterBackoff();
      for (let k = 0; k < 6; k++) b.next();
      slices[Math.floor(b.next() / 6000)]!++;
    }
    expect(slices.every((n) => n > 700 && n < 1300)).to.equal(true);
  });

  it("rejects a cap below the base", () => {
    expect(() => new FullJitterBackoff({ baseMs: 1000, capMs: 10 })).to.throw(RangeError, /base 1000 ms and cap 10 ms/);
  });
});

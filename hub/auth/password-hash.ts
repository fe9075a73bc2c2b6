import { availableParallelism } from "node:os";
import { randomBytes, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { Worker } from "node:worker_threads";
import { ResourceExhaustedError } from "../domain/errors.js";

/**
 * Password hashing and verification run in a small pool of worker threads of their own.
 *
 * Why not `crypto.scrypt` (which already leaves the event loop): it runs on libuv's shared pool of
 * 4 threads, the one fs, dns.lookup and zlib use too. A burst of 60 logins filled it and, on this
 * 2-core machine, ran 4 scrypts against the event loop's core: every other call waited. The pool
 * here has `availableParallelism() - 1` threads (at least 1, at most 4), so one core stays with
 * the event loop, and a bounded queue: beyond PASSWORD_QUEUE_LIMIT waiting checks the caller gets
 * resource_exhausted (reason PASSWORD_CHECKS_BUSY) instead of an ever longer wait. Plain
 * worker_threads, no pool library: the job is one function, and `eval` workers need no separate
 * file (the same code runs under tsx and from the built JavaScript).
 *
 * Cost (N=2^15, r=8, p=1; measured on this shared 2-core machine at load average 9, see
 * hub/auth/README.md): one verification p50 209 ms through the pool, 193 ms with plain
 * crypto.scrypt at the same moment; 60 at once take 13.7 s through the one thread.
 */

// OWASP's scrypt floor (N=2^17 is the recommendation; 2^15 keeps logins short on these 2-core machines).
const PARAMS = { N: 1 << 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
export const PASSWORD_POOL_SIZE = Math.max(1, Math.min(4, availableParallelism() - 1));
export const PASSWORD_QUEUE_LIMIT = 256;

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { scryptSync } = require("node:crypto");
parentPort.on("message", (job) => {
  try {
    const key = scryptSync(job.password, Buffer.from(job.salt), job.keylen, job.options);
    parentPort.postMessage({ id: job.id, key: new Uint8Array(key) });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String(err && err.message) });
  }
});`;

interface Job {
  id: number;
  password: string;
  salt: Uint8Array;
  keylen: number;
  options: ScryptOptions;
  resolve(key: Buffer): void;
  reject(err: Error): void;
}

class ScryptPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private workers = 0;
  private nextId = 1;

  constructor(
    private readonly size: number,
    private readonly queueLimit: number,
  ) {}

  run(password: string, salt: Uint8Array, keylen: number, options: ScryptOptions): Promise<Buffer> {
    if (this.queue.length >= this.queueLimit) {
      return Promise.reject(
        new ResourceExhaustedError(`Cannot check the password now: ${this.queue.length} password checks are waiting`, {
          reason: "PASSWORD_CHECKS_BUSY",
        }),
      );
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, password, salt, keylen, options, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.workers < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift()!;
      this.busy.set(worker, job);
      worker.ref();
      worker.postMessage({
        id: job.id,
        password: job.password,
        salt: job.salt,
        keylen: job.keylen,
        options: job.options,
      });
    }
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    this.workers++;
    worker.on("message", (msg: { id: number; key?: Uint8Array; error?: string }) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      // An idle worker must not keep the process alive (tests, shutdown).
      worker.unref();
      this.idle.push(worker);
      if (job && msg.key) job.resolve(Buffer.from(msg.key));
      else job?.reject(new Error(`Password hashing failed: ${msg.error ?? "no key"}`));
      this.pump();
    });
    worker.on("error", (err) => this.lose(worker, err));
    worker.on("exit", (code) => this.lose(worker, new Error(`Password hashing worker exited with code ${code}`)));
    return worker;
  }

  private lose(worker: Worker, err: Error): void {
    const job = this.busy.get(worker);
    this.busy.delete(worker);
    const i = this.idle.indexOf(worker);
    if (i >= 0) this.idle.splice(i, 1);
    else if (!job) return; // already accounted for
    this.workers--;
    job?.reject(err);
    this.pump();
  }
}

const pool = new ScryptPool(PASSWORD_POOL_SIZE, PASSWORD_QUEUE_LIMIT);

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64url parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await pool.run(password, salt, KEY_LENGTH, { ...PARAMS, maxmem: 128 * PARAMS.N * PARAMS.r * 2 });
  return ["scrypt", PARAMS.N, PARAMS.r, PARAMS.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Checks a password against a stored hash in constant time; false for malformed hashes. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, "base64url");
  const expected = Buffer.from(parts[5]!, "base64url");
  const key = await pool.run(password, salt, expected.length, { N, r, p, maxmem: 128 * N * r * 2 });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash no password matches, verified against for unknown users so timing does not reveal them. */
export const UNUSABLE_PASSWORD_HASH = `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${Buffer.alloc(16).toString("base64url")}$${Buffer.alloc(KEY_LENGTH).toString("base64url")}`;

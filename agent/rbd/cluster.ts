import { callAsync, fn } from "./bindings.js";
import { CephUnavailableError, isUnavailableErrno, RbdClosedError, RbdError } from "./errors.js";

/** How the gateway reaches its cluster: a conf file and/or mon hosts, a cephx user, timeouts. */
export interface CephConnectOptions {
  /** ceph.conf; optional when monHost is given. */
  conf?: string;
  /** Overrides the conf's mon host ("10.0.0.1:3300,10.0.0.2:3300" or "v2:…"). */
  monHost?: string;
  /** cephx user without "client." ("admin", "edgehub-disks"). */
  user: string;
  keyring?: string;
  /** The user's base64 key, instead of a keyring file. */
  key?: string;
  /**
   * Every wait on the cluster: connecting (client_mount_timeout; librados defaults to 300 s),
   * mon and OSD operations (rados_mon_op_timeout / rados_osd_op_timeout; default forever).
   */
  timeoutSeconds: number;
}

/** Turns a negative return into the named error; `where` says which cluster. */
export function check(rc: number, operation: string, target: string, where: string): number {
  if (rc >= 0) return rc;
  if (isUnavailableErrno(-rc)) throw new CephUnavailableError(operation, target, -rc, where);
  throw new RbdError(operation, -rc, target);
}

function describe(o: CephConnectOptions): string {
  return o.monHost ? `mon host ${o.monHost}` : `conf ${o.conf ?? "(none)"}`;
}

/**
 * One connected librados handle (rados_t) and its per-pool I/O contexts. Every use goes through
 * `use`, which counts calls in flight; `close` refuses new calls, waits for those in flight, then
 * destroys the contexts and the handle. A freed handle is never passed to the library (it would
 * crash the process), and each handle is freed exactly once.
 */
export class RadosCluster {
  private handle: bigint | null;
  private readonly ioctxs = new Map<string, Promise<bigint>>();
  private inFlight = 0;
  private readonly drained: (() => void)[] = [];
  private closing: Promise<void> | undefined;

  private constructor(
    handle: bigint,
    /** Which cluster, for messages. */
    readonly where: string,
  ) {
    this.handle = handle;
  }

  static async connect(o: CephConnectOptions): Promise<RadosCluster> {
    const where = describe(o);
    const user = o.user.replace(/^client\./, "");
    const out: unknown[] = [null];
    check(fn.rados_create2(out, "ceph", `client.${user}`, 0), "rados_create2", `client.${user}`, where);
    const h = out[0] as bigint;
    try {
      if (o.conf) check(fn.rados_conf_read_file(h, o.conf), "read conf", o.conf, where);
      const set = (k: string, v: string) => check(fn.rados_conf_set(h, k, v), `set ${k}`, v, where);
      if (o.monHost) set("mon_host", o.monHost);
      if (o.keyring) set("keyring", o.keyring);
      if (o.key) set("key", o.key);
      const seconds = String(o.timeoutSeconds);
      set("client_mount_timeout", seconds);
      set("rados_mon_op_timeout", seconds);
      set("rados_osd_op_timeout", seconds);
      check(await callAsync<number>(fn.rados_connect, h), "connect", `as client.${user}`, where);
    } catch (err) {
      // A handle whose connect failed is still allocated: shut it down once, here.
      await callAsync(fn.rados_shutdown, h);
      throw err;
    }
    return new RadosCluster(h, where);
  }

  get closed(): boolean {
    return this.handle === null || this.closing !== undefined;
  }

  /** Runs `op` with the live handle; close() waits for it to finish. */
  async use<T>(op: (handle: bigint) => Promise<T>): Promise<T> {
    if (this.closed) throw new RbdClosedError(`The Ceph connection (${this.where}) is closed`);
    this.inFlight++;
    try {
      return await op(this.handle!);
    } finally {
      if (--this.inFlight === 0) for (const r of this.drained.splice(0)) r();
    }
  }

  /** The pool's I/O context, created on first use and kept until close (call inside `use`). */
  ioctx(pool: string): Promise<bigint> {
    if (this.closed) return Promise.reject(new RbdClosedError(`The Ceph connection (${this.where}) is closed`));
    let io = this.ioctxs.get(pool);
    if (!io) {
      const h = this.handle!;
      io = (async () => {
        const out: unknown[] = [null];
        check(await callAsync<number>(fn.rados_ioctx_create, h, pool, out), "open pool", pool, this.where);
        return out[0] as bigint;
      })();
      // A failed open (missing pool) is not cached: the pool may be created later.
      io.catch(() => this.ioctxs.delete(pool));
      this.ioctxs.set(pool, io);
    }
    return io;
  }

  /** A configuration value as librados resolved it (e.g. mon_host). */
  confGet(option: string): string {
    if (this.closed) throw new RbdClosedError(`The Ceph connection (${this.where}) is closed`);
    const buf = Buffer.alloc(4096);
    check(fn.rados_conf_get(this.handle!, option, buf, buf.length), "read option", option, this.where);
    return buf.toString("utf8", 0, buf.indexOf(0));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.inFlight > 0) await new Promise<void>((r) => this.drained.push(r));
      for (const io of this.ioctxs.values()) {
        const handle = await io.catch(() => undefined);
        if (handle !== undefined) fn.rados_ioctx_destroy(handle);
      }
      this.ioctxs.clear();
      const h = this.handle!;
      this.handle = null;
      await callAsync(fn.rados_shutdown, h);
    })();
    return this.closing;
  }
}

/**
 * The gateway's connection to its cluster: connected on first use (so the agent starts while
 * Ceph is down), connected again on the next command after a failed connect.
 */
export class CephLink {
  private current: Promise<RadosCluster> | undefined;
  private stopped = false;

  constructor(readonly options: CephConnectOptions) {}

  get where(): string {
    return describe(this.options);
  }

  cluster(): Promise<RadosCluster> {
    if (this.stopped) return Promise.reject(new RbdClosedError(`The Ceph link (${this.where}) is closed`));
    this.current ??= RadosCluster.connect(this.options).catch((err: unknown) => {
      this.current = undefined;
      throw err;
    });
    return this.current;
  }

  async run<T>(op: (cluster: RadosCluster, handle: bigint) => Promise<T>): Promise<T> {
    const c = await this.cluster();
    return c.use((h) => op(c, h));
  }

  async close(): Promise<void> {
    this.stopped = true;
    const c = await this.current?.catch(() => undefined);
    this.current = undefined;
    await c?.close();
  }
}

import { LibvirtConnection, type LentConnection, type LifecycleEvent, type OpenOptions } from "./connection.js";
import { LibvirtError } from "./errors.js";

/** What DomainOps and the stats reader need: one operation on one pooled connection. */
export interface ConnectionRunner {
  run<T>(op: (c: LentConnection) => Promise<T>): Promise<T>;
}

// NO_CONNECT, INVALID_CONN, SYSTEM_ERROR (socket gone), RPC: the connection, not the request, failed.
const BROKEN = new Set([5, 6, 38, 39]);

/**
 * The agent's libvirt connection: opened on first use (so an agent starts while libvirtd is
 * down), reopened after libvirtd went away, lifecycle listeners subscribed again on each open.
 */
export class LibvirtLink implements ConnectionRunner {
  private current: Promise<LibvirtConnection> | undefined;
  private readonly listeners: ((e: LifecycleEvent) => void)[] = [];
  private closed = false;
  /** The open connection once `current` resolved (listeners added later subscribe on it directly). */
  private live: LibvirtConnection | undefined;

  constructor(
    readonly uri: string,
    private readonly options: OpenOptions = {},
  ) {}

  private connection(): Promise<LibvirtConnection> {
    if (this.closed) return Promise.reject(new Error(`Libvirt link to ${this.uri} is closed`));
    this.current ??= LibvirtConnection.open(this.uri, this.options).then(
      (c) => {
        for (const l of this.listeners) c.onLifecycle(l);
        this.live = c;
        return c;
      },
      (err) => {
        this.current = undefined;
        throw err;
      },
    );
    return this.current;
  }

  async run<T>(op: (c: LentConnection) => Promise<T>): Promise<T> {
    const conn = await this.connection();
    try {
      return await conn.run(op);
    } catch (err) {
      if (err instanceof LibvirtError && BROKEN.has(err.code) && this.current) {
        const stale = this.current;
        this.current = undefined;
        this.live = undefined;
        void stale.then((c) => c.close()).catch(() => {});
      }
      throw err;
    }
  }

  /** Subscribes now when connected, and on every later (re)connect. */
  onLifecycle(listener: (e: LifecycleEvent) => void): void {
    this.listeners.push(listener);
    // Still opening: the open subscribes every listener, this one included.
    this.live?.onLifecycle(listener);
  }

  /** Opens now (to report a missing libvirtd at start); failures leave the next call to retry. */
  async connect(): Promise<void> {
    await this.connection();
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.current;
    this.current = undefined;
    this.live = undefined;
    await c?.then((conn) => conn.close()).catch(() => {});
  }
}

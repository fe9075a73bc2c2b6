import { callAsync, fn, koffi, LifecycleCallback, VirNodeInfo } from "./bindings.js";
import { lifecycleEventName } from "./domain-state.js";
import { HandleClosedError, lastConnError, lastThreadError } from "./errors.js";
import { eventLoop } from "./event-loop.js";

type KoffiFn = { async: (...args: unknown[]) => void } & ((...args: unknown[]) => unknown);

/** A virDomainPtr that refuses use after it was freed (libvirt would segfault the process). */
export class DomainHandle {
  private handle: unknown;
  constructor(handle: unknown) {
    this.handle = handle;
  }
  get ptr(): unknown {
    if (this.handle === null) throw new HandleClosedError("Domain handle used after it was freed");
    return this.handle;
  }
  get freed(): boolean {
    return this.handle === null;
  }
  free(): void {
    if (this.handle === null) return;
    fn.virDomainFree(this.handle);
    this.handle = null;
  }
  /** Local reads (no RPC): safe on the JS thread. */
  name(): string {
    return fn.virDomainGetName(this.ptr) as string;
  }
  uuid(): string {
    const buf = Buffer.alloc(37);
    fn.virDomainGetUUIDString(this.ptr, buf);
    return buf.toString("latin1", 0, 36);
  }
}

/**
 * One pooled libvirt connection lent to one operation. Its calls run on koffi worker threads; a
 * failure becomes a LibvirtError read from this connection, which no other call uses meanwhile.
 * Domain handles it returns are freed when the operation ends.
 */
export class LentConnection {
  private readonly handles: DomainHandle[] = [];
  private returned = false;
  constructor(private readonly raw: unknown) {}

  private get ptr(): unknown {
    if (this.returned) throw new HandleClosedError("Libvirt connection used after its operation ended");
    return this.raw;
  }

  /** Calls `f(conn, ...args)`; NULL or a negative number is a failure. */
  async call<R>(what: string, f: KoffiFn, ...args: unknown[]): Promise<R> {
    const ptr = this.ptr;
    const r = await callAsync<R>(f, ptr, ...args);
    if (r === null || (typeof r === "number" && r < 0)) throw lastConnError(ptr, what);
    return r;
  }

  /** Calls `f(dom, ...args)` on a domain handle of this connection. */
  async callDomain<R>(what: string, dom: DomainHandle, f: KoffiFn, ...args: unknown[]): Promise<R> {
    const ptr = this.ptr;
    const r = await callAsync<R>(f, dom.ptr, ...args);
    if (r === null || (typeof r === "number" && r < 0)) throw lastConnError(ptr, what);
    return r;
  }

  /** Wraps a virDomainPtr this connection returned so it is freed with the operation. */
  adopt(ptr: unknown): DomainHandle {
    const h = new DomainHandle(ptr);
    this.handles.push(h);
    return h;
  }

  async domain(what: string, f: KoffiFn, ...args: unknown[]): Promise<DomainHandle> {
    return this.adopt(await this.call<unknown>(what, f, ...args));
  }

  release(): void {
    for (const h of this.handles) h.free();
    this.returned = true;
  }
}

export interface LifecycleEvent {
  name: string;
  uuid: string;
  /** virDomainEventType and its detail, as numbers and as libvirt's names. */
  event: number;
  detail: number;
  eventName: string;
}

export interface NodeInfo {
  model: string;
  memoryKib: number;
  cpus: number;
  mhz: number;
  sockets: number;
  cores: number;
  threads: number;
}

export interface OpenOptions {
  /** Connections in the pool: how many libvirt calls run at once. */
  poolSize?: number;
  /** Register libvirt's event loop (needed for onLifecycle); must be set on the first open. */
  events?: boolean;
}

/** A pool of libvirt connections to one URI; unusable once closed. */
export class LibvirtConnection {
  private readonly idle: unknown[];
  private readonly waiters: ((raw: unknown) => void)[] = [];
  private state: "open" | "closing" | "closed" = "open";
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private readonly callbacks: { id: number; registered: unknown }[] = [];

  private constructor(
    readonly uri: string,
    private readonly all: unknown[],
    private readonly usesEventLoop: boolean,
  ) {
    this.idle = [...all];
  }

  static async open(uri: string, options: OpenOptions = {}): Promise<LibvirtConnection> {
    if (options.events) eventLoop.register();
    const usesEventLoop = eventLoop.isRegistered;
    if (usesEventLoop) eventLoop.acquire();
    const opened: unknown[] = [];
    try {
      for (let i = 0; i < Math.max(1, options.poolSize ?? 4); i++) {
        const c = await callAsync<unknown>(fn.virConnectOpen as KoffiFn, uri);
        if (!c) throw lastThreadError(`Cannot connect to libvirt at ${uri}`);
        opened.push(c);
      }
    } catch (err) {
      for (const c of opened) await callAsync(fn.virConnectClose as KoffiFn, c);
      if (usesEventLoop) await eventLoop.release();
      throw err;
    }
    return new LibvirtConnection(uri, opened, usesEventLoop);
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** Runs one operation on one pooled connection (waiting for a free one); frees its handles after. */
  async run<T>(op: (c: LentConnection) => Promise<T>): Promise<T> {
    if (this.state !== "open") throw new HandleClosedError(`Libvirt connection to ${this.uri} is closed`);
    this.inFlight++;
    try {
      const raw = this.idle.pop() ?? (await new Promise<unknown>((resolve) => this.waiters.push(resolve)));
      const lent = new LentConnection(raw);
      try {
        return await op(lent);
      } finally {
        lent.release();
        const next = this.waiters.shift();
        if (next) next(raw);
        else this.idle.push(raw);
      }
    } finally {
      if (--this.inFlight === 0) this.drained?.();
    }
  }

  nodeInfo(): Promise<NodeInfo> {
    return this.run(async (c) => {
      const info = {} as { model: string; memory: number; cpus: number; mhz: number } & Record<string, number>;
      await c.call("Cannot read node info", fn.virNodeGetInfo as KoffiFn, info);
      return {
        model: info.model,
        memoryKib: Number(info.memory),
        cpus: info.cpus,
        mhz: info.mhz,
        sockets: info.sockets!,
        cores: info.cores!,
        threads: info.threads!,
      };
    });
  }

  /** Domain lifecycle events (needs `events: true` at open). Returns a function that stops them. */
  onLifecycle(listener: (e: LifecycleEvent) => void): void {
    if (this.state !== "open") throw new HandleClosedError(`Libvirt connection to ${this.uri} is closed`);
    if (!this.usesEventLoop) throw new Error("Lifecycle events need the connection opened with events: true");
    const registered = koffi.register((_conn: unknown, dom: unknown, event: number, detail: number) => {
      try {
        // The domain pointer is valid only during the callback: read its name and uuid now.
        const h = new DomainHandle(dom);
        listener({ name: h.name(), uuid: h.uuid(), event, detail, eventName: lifecycleEventName(event, detail) });
      } catch {
        // A listener's error must not unwind into libvirt's event thread.
      }
      return 0;
    }, koffi.pointer(LifecycleCallback));
    const id = fn.virConnectDomainEventRegisterAny(this.all[0], null, 0, registered, null, null) as number;
    if (id < 0) {
      koffi.unregister(registered as bigint);
      throw lastConnError(this.all[0], "Cannot subscribe to domain lifecycle events");
    }
    this.callbacks.push({ id, registered });
  }

  /** Waits for running operations, then closes every connection; later calls fail with HandleClosedError. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = "closing";
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      for (const cb of this.callbacks) fn.virConnectDomainEventDeregisterAny(this.all[0], cb.id);
      for (const c of this.all) await callAsync(fn.virConnectClose as KoffiFn, c);
      if (this.usesEventLoop) await eventLoop.release();
      // Unregistered only after the loop stopped: no libvirt thread can still be calling them.
      for (const cb of this.callbacks) koffi.unregister(cb.registered as bigint);
      this.state = "closed";
    })();
    return this.closing;
  }
}

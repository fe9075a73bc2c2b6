import type { ChildProcess } from "node:child_process";

/** What a bench child (hub or echo server) reports about itself when asked. */
export interface ProcessSample {
  rssBytes: number;
  cpuMicros: number;
  at: number;
}

export function processSample(): ProcessSample {
  const cpu = process.cpuUsage();
  return { rssBytes: process.memoryUsage().rss, cpuMicros: cpu.user + cpu.system, at: Date.now() };
}

/** Request/response over the IPC channel of a forked child: one outstanding reply per request id. */
export class ChildRpc {
  private nextId = 1;
  private readonly waiting = new Map<number, (value: unknown) => void>();

  constructor(readonly child: ChildProcess) {
    child.on("message", (m: { id?: number; reply?: unknown }) => {
      if (m.id === undefined) return;
      this.waiting.get(m.id)?.(m.reply);
      this.waiting.delete(m.id);
    });
  }

  call<T>(type: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, resolve as (v: unknown) => void);
      this.child.send({ id, type, ...args }, (err) => err && reject(err));
    });
  }
}

/** The child side: answers `{id, type}` messages with `handler(type, message)`. */
export function serveParent(handler: (type: string, message: Record<string, unknown>) => Promise<unknown>): void {
  process.on("message", (m: { id: number; type: string }) => {
    void handler(m.type, m as unknown as Record<string, unknown>).then(
      (reply) => process.send?.({ id: m.id, reply }),
      (err: unknown) => process.send?.({ id: m.id, reply: { error: String(err) } }),
    );
  });
}

/** CPU use of a child between two samples, in % of one core. */
export function cpuPercent(a: ProcessSample, b: ProcessSample): number {
  const wallMicros = (b.at - a.at) * 1000;
  return wallMicros > 0 ? Math.round((1000 * (b.cpuMicros - a.cpuMicros)) / wallMicros) / 10 : 0;
}

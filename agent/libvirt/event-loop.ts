import { callAsync, fn, koffi, TimeoutCallback } from "./bindings.js";

/**
 * libvirt's default event loop, run on one koffi worker thread: each `virEventRunDefaultImpl`
 * iteration blocks there in poll() and its callbacks (domain events) are relayed to the JS thread.
 * libvirt needs the implementation registered before the first connection opens, and once it is
 * registered every open connection relies on it (remote keepalives), so the loop runs while any
 * connection opened after registration is open: acquire() on open, release() on close.
 */
class EventLoop {
  private registered = false;
  private users = 0;
  private running: Promise<void> | undefined;
  private wakeTimer = -1;
  private wakeCallback: unknown;

  get isRegistered(): boolean {
    return this.registered;
  }

  register(): void {
    if (this.registered) return;
    if (fn.virEventRegisterDefaultImpl() < 0) throw new Error("Cannot register libvirt's default event loop");
    this.registered = true;
  }

  acquire(): void {
    if (!this.registered) return;
    if (this.users++ === 0) this.start();
  }

  async release(): Promise<void> {
    if (!this.registered || this.users === 0) return;
    if (--this.users > 0) return;
    const running = this.running;
    // A timer due now wakes the poll() the loop thread is blocked in, so it sees users === 0.
    fn.virEventUpdateTimeout(this.wakeTimer, 0);
    await running;
  }

  private start(): void {
    // Disabled (-1) until release() arms it; its only job is to interrupt the blocked iteration.
    this.wakeCallback ??= koffi.register(() => {}, koffi.pointer(TimeoutCallback));
    const timer = fn.virEventAddTimeout(-1, this.wakeCallback, null, null);
    this.wakeTimer = timer;
    const previous = this.running ?? Promise.resolve();
    this.running = previous.then(async () => {
      while (this.users > 0) {
        if ((await callAsync<number>(fn.virEventRunDefaultImpl)) < 0) break;
      }
      fn.virEventRemoveTimeout(timer);
    });
  }
}

export const eventLoop = new EventLoop();

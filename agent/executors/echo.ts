import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";

/** Diagnostic: returns its payload; `{"delayMs": n}` makes it wait first (and be cancellable meanwhile). */
export const echoExecutor: CommandExecutor = async (payload, ctx) => {
  const delayMs = Number((payload as { delayMs?: unknown } | null)?.delayMs ?? 0);
  if (delayMs > 0) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, delayMs);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(t);
        reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error("cancelled"));
      }, { once: true });
    });
  }
  return { echo: payload };
};

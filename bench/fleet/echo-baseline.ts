import { BenchWorker, forkChild, pollUntil, sleep } from "./bench-processes.js";
import { cpuPercent, type ProcessSample } from "./child-ipc.js";
import { summarize } from "./percentiles.js";

export interface EchoBaselineOptions {
  agents: number;
  workers: number;
  intervalMs: number;
  windowMs: number;
}

type EchoStats = ProcessSample & { messages: number; streams: number };

/** The same number of streams and messages per second as the fleet run, on a bare grpc-js echo server. */
export async function runEchoBaseline(o: EchoBaselineOptions) {
  const server = await forkChild<{ port: number; caPem: string }>(new URL("./echo-server.ts", import.meta.url), []);
  const workers: BenchWorker[] = [];
  try {
    const started = Date.now();
    for (let w = 0; w < o.workers; w++) {
      const count = Math.floor(o.agents / o.workers) + (w < o.agents % o.workers ? 1 : 0);
      const bw = new BenchWorker(new URL("./echo-worker.ts", import.meta.url), {
        port: server.ready.port,
        caPem: server.ready.caPem,
        count,
        intervalMs: o.intervalMs,
      });
      workers.push(bw);
      await bw.next("started");
    }
    const up = await pollUntil(
      () => server.rpc.call<EchoStats>("stats"),
      (s) => s.streams >= o.agents,
      300_000,
      500,
    );
    const connectSeconds = (Date.now() - started) / 1000;
    // Let the first burst (every stream's opening message) pass before measuring.
    await sleep(Math.min(o.intervalMs, 10_000));
    await Promise.all(workers.map((w) => w.worker.postMessage({ type: "reset" })));
    const a = await server.rpc.call<EchoStats>("stats");
    await sleep(o.windowMs);
    const b = await server.rpc.call<EchoStats>("stats");
    const replies = await Promise.all(workers.map((w) => w.ask<{ rtts: number[]; rssBytes: number }>("rtts")));
    return {
      connected: up.value.streams,
      connectAllSeconds: Math.round(connectSeconds * 10) / 10,
      messagesPerSecond: Math.round(((b.messages - a.messages) * 1000) / (b.at - a.at)),
      serverRssMiB: Math.round(b.rssBytes / 2 ** 20),
      serverCpuPercent: cpuPercent(a, b),
      echoRoundTripMs: summarize(replies.flatMap((r) => r.rtts)),
      // Worker threads share the bench process, so one RSS covers all clients.
      benchProcessRssMiB: Math.round(Math.max(...replies.map((r) => r.rssBytes)) / 2 ** 20),
    };
  } finally {
    await Promise.all(
      workers.map(async (w) => {
        await w.ask("stop", "stopped");
        await w.worker.terminate();
      }),
    );
    await server.rpc.call("stop").catch(() => undefined);
    await server.exited;
  }
}

// Baseline clients: N bidi streams to the bare echo server, each sending one heartbeat-sized
// message per interval (random phase), timing each echo.
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { parentPort, workerData } from "node:worker_threads";
import { AgentMessageSchema } from "../../gen/edgehub/fleet/v1/agent_pb.js";

export interface EchoWorkerData {
  port: number;
  caPem: string;
  count: number;
  intervalMs: number;
}

const data = workerData as EchoWorkerData;
const payload = Buffer.from(
  toBinary(
    AgentMessageSchema,
    create(AgentMessageSchema, {
      kind: { case: "heartbeat", value: { sequence: 1n, sendTime: timestampFromDate(new Date()) } },
    }),
  ),
);
const rtts: number[] = [];
const clients: grpc.Client[] = [];
const timers: NodeJS.Timeout[] = [];
let established = 0;

for (let i = 0; i < data.count; i++) {
  // One channel per client, as each agent has its own connection (and TLS session) to the hub.
  const client = new grpc.Client(`127.0.0.1:${data.port}`, grpc.credentials.createSsl(Buffer.from(data.caPem)), {
    "grpc.ssl_target_name_override": "localhost",
    "grpc.use_local_subchannel_pool": 1,
  });
  clients.push(client);
  const call = client.makeBidiStreamRequest<Buffer, Buffer>(
    "/bench.Echo/Echo",
    (b) => b,
    (b) => b,
  );
  const sent: number[] = [];
  call.on("data", () => {
    const t = sent.shift();
    if (t !== undefined) rtts.push(performance.now() - t);
  });
  call.on("error", () => undefined);
  const send = () => {
    sent.push(performance.now());
    call.write(payload);
  };
  // First message at once (opens the connection), then at the interval with a random phase.
  send();
  established++;
  timers.push(setTimeout(() => timers.push(setInterval(send, data.intervalMs)), Math.random() * data.intervalMs));
}

parentPort!.on("message", (m: { type: string }) => {
  if (m.type === "reset") rtts.length = 0;
  if (m.type === "rtts")
    parentPort!.postMessage({ type: "rtts", rtts, established, rssBytes: process.memoryUsage().rss });
  if (m.type === "stop") {
    for (const t of timers) clearInterval(t);
    for (const c of clients) c.close();
    parentPort!.postMessage({ type: "stopped" });
  }
});
parentPort!.postMessage({ type: "started" });

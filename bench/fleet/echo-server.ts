// The baseline: a bare grpc-js bidi echo server over TLS, no protocol, no database. Forked with IPC
// by the bench so its RSS and CPU are measured apart from everything else.
import * as grpc from "@grpc/grpc-js";
import { generateHubCa, HubCa } from "../../hub/pki/hub-ca.js";
import { processSample, serveParent } from "./child-ipc.js";

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  echo: {
    path: "/bench.Echo/Echo",
    requestStream: true,
    responseStream: true,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

const ca = await HubCa.load(await generateHubCa());
const cert = await ca.issueServerCertificate(["localhost", "127.0.0.1"]);
let messages = 0;
let streams = 0;
const server = new grpc.Server({ "grpc.keepalive_time_ms": 20_000, "grpc.keepalive_permit_without_calls": 1 });
server.addService(ECHO_SERVICE, {
  echo: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    streams++;
    call.on("data", (b: Buffer) => {
      messages++;
      call.write(b);
    });
    call.on("end", () => call.end());
    call.on("error", () => undefined);
    call.on("close", () => streams--);
  },
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(
    "127.0.0.1:0",
    grpc.ServerCredentials.createSsl(
      null,
      [{ cert_chain: Buffer.from(cert.certPem), private_key: Buffer.from(cert.keyPem) }],
      false,
    ),
    (e, p) => (e ? reject(e) : resolve(p)),
  ),
);

serveParent(async (type) => {
  if (type === "stats") return { ...processSample(), messages, streams };
  if (type === "stop") {
    server.forceShutdown();
    setTimeout(() => process.exit(0), 50);
    return { stopped: true };
  }
  throw new Error(`unknown request ${type}`);
});
process.send?.({ type: "ready", port, caPem: ca.certPem });

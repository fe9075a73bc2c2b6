import { expect } from "chai";
import { closed, rawSocket } from "../support/raw-socket.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";

const CAP = 20;

describe("admin port sheds idle and slow connections (security #1)", function () {
  this.timeout(60_000);
  let t: TestHub;
  let port: number;
  before(async () => {
    t = await startTestHub({
      args: [
        "--http-headers-timeout",
        "800",
        "--http-idle-timeout",
        "1500",
        "--http-max-connections-per-address",
        String(CAP),
      ],
    });
    port = t.hub.httpPort;
  });
  after(async () => t?.stop());

  it("caps connections per remote address, and /healthz from another address still answers during the flood", async () => {
    // 127.0.0.2 is loopback too: the flood comes from an address of its own.
    const flood = await Promise.all(Array.from({ length: 3 * CAP }, () => rawSocket(port, "127.0.0.2")));
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).to.equal(200);
    // Everything above the cap was closed by the hub without a byte being read.
    await Promise.all(flood.slice(CAP + 5).map(closed)); // a few may still be in flight when counted
    // …and the rest is closed by the header deadline: nothing stays open.
    await Promise.all(flood.map(closed));
  });

  it("closes a silent socket, a half-sent HTTP/2 preface and unfinished HTTP/1 headers", async () => {
    const silent = await rawSocket(port, "127.0.0.3");
    const halfPreface = await rawSocket(port, "127.0.0.3");
    halfPreface.write("PRI * HTTP/2.0\r\n");
    const slowHeaders = await rawSocket(port, "127.0.0.3");
    slowHeaders.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    await Promise.all([closed(silent), closed(halfPreface), closed(slowHeaders)]);
  });

  it("closes a keep-alive connection left idle after a request", async () => {
    const socket = await rawSocket(port, "127.0.0.4");
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await closed(socket);
    expect(answer).to.match(/^HTTP\/1\.1 200/);
  });
});

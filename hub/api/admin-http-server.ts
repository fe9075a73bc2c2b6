import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";

type Handler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Connection limits of the admin port (security: idle or slow sockets must not pile up). */
export interface AdminHttpLimits {
  /** A connection must have sent complete request headers (or the HTTP/2 preface) within this. */
  headersTimeoutMs: number;
  /** A connection with no request in flight is closed after this. */
  idleTimeoutMs: number;
  /** Open connections one remote address may hold; more are closed at once. */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_ADMIN_HTTP_LIMITS: AdminHttpLimits = Object.freeze({
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxConnectionsPerAddress: 256,
});

/**
 * One cleartext port for HTTP/1.1 (Connect, gRPC-web, curl) and HTTP/2 prior-knowledge (gRPC).
 * The first bytes of a connection pick the server: the HTTP/2 preface goes to the h2c server,
 * anything else to the HTTP/1.1 server.
 */
export class AdminHttpServer {
  private readonly listener: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.Http2Session>();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  private readonly perAddress = new Map<string, number>();
  private readonly headerDeadlines = new WeakMap<net.Socket, NodeJS.Timeout>();

  constructor(
    handler: Handler,
    private readonly limits: AdminHttpLimits = DEFAULT_ADMIN_HTTP_LIMITS,
  ) {
    const counted: Handler = (req, res) => {
      this.inFlight++;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.inFlight--;
        if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((w) => w());
      };
      res.once("finish", finish);
      res.once("close", finish);
      handler(req, res);
    };
    // Node enforces headersTimeout only on servers that listen themselves; this one is
    // handed sockets, so the header deadline of a new connection is kept here (headerDeadlines) and
    // ends with its first request. keepAliveTimeout (idle between requests) works as usual.
    this.h1 = http.createServer({ keepAliveTimeout: limits.idleTimeoutMs }, counted as http.RequestListener);
    this.h1.on("request", (req: http.IncomingMessage) => {
      clearTimeout(this.headerDeadlines.get(req.socket));
      this.headerDeadlines.delete(req.socket);
    });
    this.h2 = http2.createServer(
      {},
      counted as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
    );
    this.h2.on("session", (session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
      // An HTTP/2 connection with no frames for the idle time is closed (streams in flight finish first).
      session.setTimeout(limits.idleTimeoutMs, () => session.close());
    });
    this.listener = net.createServer((socket) => this.route(socket));
  }

  private route(socket: net.Socket): void {
    const address = socket.remoteAddress ?? "unknown";
    const held = this.perAddress.get(address) ?? 0;
    if (held >= this.limits.maxConnectionsPerAddress) {
      socket.destroy(); // shed before reading a byte: a flood from one address cannot take the port
      return;
    }
    this.perAddress.set(address, held + 1);
    this.sockets.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
    socket.on("error", () => socket.destroy());
    // Until the first bytes pick a protocol, neither server's timers run: a silent socket, or a
    // half-sent HTTP/2 preface, gets the header deadline here.
    const sniffTimer = setTimeout(() => socket.destroy(), this.limits.headersTimeoutMs);
    socket.once("close", () => clearTimeout(sniffTimer));
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const n = Math.min(buffered.length, H2_PREFACE.length);
      const isH2 = buffered.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && buffered.length < H2_PREFACE.length) return; // need more bytes to decide
      clearTimeout(sniffTimer);
      socket.off("data", onData);
      if (isH2) {
        // node's http2 reads the socket's native handle, so bytes already read cannot be
        // unshifted back; hand it a JS stream that replays them instead.
        this.h2.emit("connection", replayingStream(socket, buffered));
      } else {
        const deadline = setTimeout(() => socket.destroy(), this.limits.headersTimeoutMs);
        this.headerDeadlines.set(socket, deadline);
        socket.once("close", () => clearTimeout(deadline));
        socket.pause();
        socket.unshift(buffered);
        this.h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.listener.once("error", reject);
      this.listener.listen(port, host, () => {
        this.listener.off("error", reject);
        resolve((this.listener.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish within `timeoutMs`, then closes what is left. */
  async close(timeoutMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    this.h1.closeIdleConnections();
    for (const session of this.sessions) session.close();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.h1.closeAllConnections();
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

/** A duplex over `socket` whose readable side starts with `head`, the bytes consumed while sniffing. */
function replayingStream(socket: net.Socket, head: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  // HTTP/2 requests read the peer address from their connection (login counts failures per address).
  Object.defineProperty(duplex, "remoteAddress", { value: socket.remoteAddress });
  duplex.push(head);
  socket.on("data", (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.once("end", () => duplex.push(null));
  socket.once("close", () => duplex.destroy());
  return duplex;
}

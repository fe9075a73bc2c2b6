import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";

type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

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

  constructor(handler: Handler) {
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
    this.h1 = http.createServer(counted as http.RequestListener);
    this.h2 = http2.createServer({}, counted as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
    this.h2.on("session", (session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
    });
    this.listener = net.createServer((socket) => this.route(socket));
  }

  private route(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const n = Math.min(buffered.length, H2_PREFACE.length);
      const isH2 = buffered.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && buffered.length < H2_PREFACE.length) return; // need more bytes to decide
      socket.off("data", onData);
      if (isH2) {
        // node's http2 reads the socket's native handle, so bytes already read cannot be
        // unshifted back; hand it a JS stream that replays them instead.
        this.h2.emit("connection", replayingStream(socket, buffered));
      } else {
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
  duplex.push(head);
  socket.on("data", (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.once("end", () => duplex.push(null));
  socket.once("close", () => duplex.destroy());
  return duplex;
}

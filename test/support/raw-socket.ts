import net from "node:net";

// Raw TCP peers for the connection-limit probes: they connect from a chosen loopback address
// (limits count per address) and send nothing unless told to.

/** Opens a raw TCP connection from `localAddress` and resolves once it is established (or refused). */
export function rawSocket(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    socket.on("error", () => undefined);
    socket.once("connect", () => resolve(socket));
    socket.once("close", () => resolve(socket));
  });
}

/** Resolves when the other side (or anyone) has closed the socket. */
export const closed = (socket: net.Socket) =>
  new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once("close", () => resolve())));

import net from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../../gen/edgehub/admin/v1/auth_pb.js";
import { FleetService } from "../../../gen/edgehub/admin/v1/fleet_pb.js";

/** Clients of any admin service on a hub process's admin port, logged in as the first admin. */
export async function adminClientsFor(
  httpPort: number,
  password: string,
): Promise<{ baseUrl: string; token: string; client<S extends DescService>(service: S): Client<S> }> {
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const { token } = await createClient(AuthService, createConnectTransport({ baseUrl, httpVersion: "1.1" })).login({
    username: "admin",
    password,
  });
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${token}`);
        return next(req);
      },
    ],
  });
  return { baseUrl, token, client: (service) => createClient(service, transport) };
}

/** A FleetService client on a hub process's admin port, logged in as the first admin. */
export async function fleetClientFor(httpPort: number, password: string): Promise<Client<typeof FleetService>> {
  return (await adminClientsFor(httpPort, password)).client(FleetService);
}

/** A TCP port free right now, for a hub that must come back on the same address after a kill. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import type { DescService } from "@bufbuild/protobuf";
import type { CliConfig, HubContext } from "./config-file.js";
import { NotLoggedInError } from "./not-logged-in-error.js";

/** The hub of the chosen context with its token: where every resource command sends its calls. */
export interface HubSession {
  readonly contextName: string;
  readonly context: HubContext;
  readonly transport: Transport;
  client<S extends DescService>(service: S): Client<S>;
}

/**
 * A Connect transport to `hub`, with the bearer token when there is one. connect-node is loaded
 * here, on first use, so --help and shell completion (run on every Tab) stay quick.
 */
export async function hubTransport(hub: string, token?: string): Promise<Transport> {
  const { createConnectTransport } = await import("@connectrpc/connect-node");
  const auth: Interceptor = (next) => (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  return createConnectTransport({ baseUrl: hub, httpVersion: "1.1", interceptors: [auth] });
}

/** The context named `name` (or the current one), logged in. */
export async function openSession(config: CliConfig, name?: string): Promise<HubSession> {
  const contextName = name ?? config.currentContext;
  if (!contextName) throw new NotLoggedInError("Not logged in: run `edgehubctl login --hub URL` first");
  const context = config.contexts[contextName];
  if (!context)
    throw new NotLoggedInError(`No context "${contextName}": run \`edgehubctl config get-contexts\` to see them`);
  if (!context.token)
    throw new NotLoggedInError(
      `Not logged in to ${context.hub} (context "${contextName}"): run \`edgehubctl login --hub ${context.hub}\``,
    );
  const transport = await hubTransport(context.hub, context.token);
  return { contextName, context, transport, client: (service) => createClient(service, transport) };
}

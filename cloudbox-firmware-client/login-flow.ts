import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { AuthService } from "../gen/edgehub/admin/v1/auth_pb.js";
import { CloudBoxService, type AccessibleInstance } from "../gen/edgehub/admin/v1/cloud_box_pb.js";
import { InstanceService, InstanceStatus } from "../gen/edgehub/admin/v1/instance_pb.js";
import { GraphicsProtocol } from "../gen/edgehub/common/v1/compute_pb.js";
import type { Screen } from "./screen.js";
import type { TerminalInput } from "./terminal-input.js";
import type { ViewerTicket } from "./viewer.js";

// Scenario B of 000 §2.5.2: no binding, so the person at the box signs in (AuthService.Login on
// the admin API), picks one of the instances they can reach, the box starts it if needed and
// opens it with a console ticket issued to them.

export class HubUnreachable extends Error {
  override readonly name = "HubUnreachable";
}

const UNREACHABLE = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Unknown, Code.Internal]);

function rethrow(err: unknown): never {
  if (err instanceof ConnectError && UNREACHABLE.has(err.code))
    throw new HubUnreachable(`The hub's API is unreachable: ${err.rawMessage}`);
  throw err;
}

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(InstanceStatus)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [v as number, k.toLowerCase()]),
);

export interface LoginFlowDeps {
  apiUrl: string;
  screen: Screen;
  input: TerminalInput;
  /** Waits between polls of a starting instance (events would need a watch API the hub lacks). */
  sleep: (ms: number) => Promise<void>;
}

export class LoginFlow {
  private token = "";
  private readonly clients: {
    auth: Client<typeof AuthService>;
    boxes: Client<typeof CloudBoxService>;
    instances: Client<typeof InstanceService>;
  };

  constructor(private readonly deps: LoginFlowDeps) {
    const auth: Interceptor = (next) => (req) => {
      if (this.token) req.header.set("authorization", `Bearer ${this.token}`);
      return next(req);
    };
    const transport = createConnectTransport({ baseUrl: deps.apiUrl, httpVersion: "1.1", interceptors: [auth] });
    this.clients = {
      auth: createClient(AuthService, transport),
      boxes: createClient(CloudBoxService, transport),
      instances: createClient(InstanceService, transport),
    };
  }

  /** Signs in, lets the user choose, and returns a ticket; undefined when the keyboard is gone. */
  async run(): Promise<ViewerTicket | undefined> {
    const { screen, input } = this.deps;
    for (;;) {
      if (!this.token) {
        const username = await input.ask("Username: ");
        if (username === undefined) return undefined;
        const password = await input.ask("Password: ", { secret: true });
        if (password === undefined) return undefined;
        try {
          this.token = (await this.clients.auth.login({ username: username.trim(), password })).token;
        } catch (err) {
          if (err instanceof ConnectError && !UNREACHABLE.has(err.code)) {
            screen.show(`Sign-in failed: ${err.rawMessage}`);
            continue;
          }
          rethrow(err);
        }
        screen.show(`Signed in as ${username.trim()}`);
      }
      const list = await this.clients.boxes.listAccessibleInstances({ pageSize: 100 }).catch(rethrow);
      if (list.instances.length === 0) {
        screen.show("No instances are available to you");
        this.token = "";
        continue;
      }
      screen.show("Your instances:");
      list.instances.forEach((a, i) => screen.show(`  ${i + 1}) ${describe(a)}`));
      const choice = await input.ask("Instance number: ");
      if (choice === undefined) return undefined;
      const chosen = list.instances[Number(choice.trim()) - 1];
      if (!chosen?.instance) {
        screen.show(`No instance numbered ${choice.trim()}`);
        continue;
      }
      try {
        return await this.open(chosen);
      } catch (err) {
        if (err instanceof ConnectError && !UNREACHABLE.has(err.code)) {
          screen.show(`Cannot open ${chosen.instance.name}: ${err.rawMessage}`);
          continue;
        }
        rethrow(err);
      }
    }
  }

  private async open(a: AccessibleInstance): Promise<ViewerTicket> {
    const { screen } = this.deps;
    const id = a.instance!.id;
    let status = (await this.clients.instances.getInstance({ id })).instance!.status;
    if (status === InstanceStatus.STOPPED) {
      screen.show(`Starting ${a.instance!.name}…`);
      await this.clients.instances.startInstance({ id });
    }
    while (status !== InstanceStatus.RUNNING) {
      await this.deps.sleep(1000);
      status = (await this.clients.instances.getInstance({ id })).instance!.status;
      if (status === InstanceStatus.STOPPED || status === InstanceStatus.DELETED)
        throw new ConnectError(`the instance is ${STATUS_NAMES[status]}`, Code.FailedPrecondition);
    }
    const t = await this.clients.instances.createConsoleTicket({ id });
    return {
      protocol: t.protocol === GraphicsProtocol.SPICE ? "spice" : "vnc",
      host: t.host,
      port: t.port,
      password: t.password,
      expireTime: t.expireTime ? timestampDate(t.expireTime) : new Date(),
      title: a.instance!.name,
    };
  }
}

function describe(a: AccessibleInstance): string {
  const i = a.instance!;
  const where = a.instanceSetName ? `, ${a.instanceSetName}` : "";
  return `${i.name} [${STATUS_NAMES[i.status] ?? "unknown"}] (${a.role || "member"}${where})`;
}

import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import { StartupVerdict, type StartupCheckResponse } from "../gen/edgehub/fleet/v1/cloud_box_pb.js";
import { GraphicsProtocol } from "../gen/edgehub/common/v1/compute_pb.js";
import { FullJitterBackoff } from "../lib/backoff/full-jitter-backoff.js";
import type { StoredIdentity } from "../lib/fleet-session/state-dir.js";
import { HubUnreachable, LoginFlow } from "./login-flow.js";
import type { Screen } from "./screen.js";
import { HubUnreachableError } from "./startup-client.js";
import type { TerminalInput } from "./terminal-input.js";
import type { Viewer, ViewerTicket } from "./viewer.js";

/**
 * What the box is doing (000 §2.5.2): checking its binding, waiting for the bound instance to
 * start, showing the login, running the viewer, or waiting to retry an unreachable hub.
 */
export type BootState = "checking" | "starting" | "login" | "viewing" | "unreachable" | "refused" | "stopped";

export interface BootFlowDeps {
  hub: string;
  apiUrl: string | undefined;
  identity: () => StoredIdentity;
  startupCheck: (hub: string, identity: StoredIdentity) => Promise<StartupCheckResponse>;
  viewer: Viewer;
  screen: Screen;
  input: TerminalInput;
  log: Logger;
  backoff: FullJitterBackoff;
  /** How long a refused (disabled, maintenance) box waits before asking again. */
  refusedRetryMs: number;
}

class Restart extends Error {}

/** A viewer that ran less than this is taken as a failed start. */
const QUICK_EXIT_MS = 10_000;

/**
 * The boot flow: startup check first (bound: straight into the instance, no login); no binding:
 * the login path; an unreachable hub: retries with backoff and says so on screen. Once the viewer
 * runs, the flow waits for it to exit; the hub going away meanwhile does not touch it.
 */
export class BootFlow {
  state: BootState = "checking";
  private stopped = false;
  private cancel: (() => void) | undefined;
  private done: Promise<void> | undefined;

  constructor(private readonly deps: BootFlowDeps) {}

  start(): void {
    this.done = this.loop();
  }

  /** The reboot command: the viewer closes and the flow begins again, as after power-on. */
  restart(): void {
    this.generation++;
    this.deps.viewer.stop();
    this.deps.input.interrupt();
    this.cancel?.();
  }

  private generation = 0;
  /** Grows while the viewer keeps failing at once, apart from the hub's backoff (reset by every answer). */
  private readonly viewerBackoff = new FullJitterBackoff({ baseMs: 2_000, capMs: 60_000 });

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = "stopped";
    this.restart();
    await this.done;
  }

  private set(state: BootState): void {
    if (this.stopped) return;
    this.deps.log.debug({ from: this.state, to: state }, "Boot state");
    this.state = state;
  }

  /** A wait that a restart or stop cuts short. */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      this.cancel = () => {
        clearTimeout(t);
        reject(new Restart());
      };
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.once();
      } catch (err) {
        if (err instanceof Restart || this.stopped) continue;
        if (err instanceof HubUnreachableError || err instanceof HubUnreachable) {
          this.set("unreachable");
          const delay = this.deps.backoff.next();
          this.deps.screen.show(`The hub is unreachable; retrying in ${Math.ceil(delay / 1000)} s`);
          this.deps.log.warn({ err: err.message, delayMs: delay }, "Hub unreachable");
          await this.wait(delay).catch(() => undefined);
          continue;
        }
        this.deps.log.error({ err }, "Boot flow failed");
        this.deps.screen.show(`Error: ${(err as Error).message}`);
        await this.wait(this.deps.refusedRetryMs).catch(() => undefined);
      }
    }
  }

  private async once(): Promise<void> {
    const { screen } = this.deps;
    const generation = this.generation;
    const current = () => {
      if (generation !== this.generation) throw new Restart();
    };
    this.set("checking");
    const res = await this.deps.startupCheck(this.deps.hub, this.deps.identity());
    current();
    this.deps.backoff.reset();
    switch (res.verdict) {
      case StartupVerdict.READY:
        await this.view(ticketOf(res), `Connecting to ${res.instanceName}`);
        return;
      case StartupVerdict.STARTING:
        this.set("starting");
        screen.show(res.message || `Waiting for ${res.instanceName}`);
        await this.wait(res.retryAfterMs || 2000);
        return;
      case StartupVerdict.REFUSED:
        this.set("refused");
        screen.show(res.message);
        await this.wait(this.deps.refusedRetryMs);
        return;
      case StartupVerdict.LOGIN: {
        this.set("login");
        if (!this.deps.apiUrl) {
          screen.show("Not bound to an instance and no --api-url to sign in with");
          await this.wait(this.deps.refusedRetryMs);
          return;
        }
        screen.show("Sign in to open your instance");
        const ticket = await new LoginFlow({
          apiUrl: this.deps.apiUrl,
          screen,
          input: this.deps.input,
          sleep: (ms) => this.wait(ms),
        }).run();
        current();
        if (!ticket) {
          screen.show("No keyboard input; waiting");
          await this.wait(this.deps.refusedRetryMs);
          return;
        }
        await this.view(ticket, `Connecting to ${ticket.title}`);
        return;
      }
      default:
        throw new Error(`Unknown startup verdict ${res.verdict}`);
    }
  }

  private async view(ticket: ViewerTicket, message: string): Promise<void> {
    this.set("viewing");
    this.deps.screen.show(message);
    const started = Date.now();
    const generation = this.generation;
    const code = await this.deps.viewer.launch(ticket);
    if (this.stopped || generation !== this.generation) return;
    this.deps.screen.show(`The viewer closed (exit code ${code ?? "none"})`);
    // A viewer that cannot start or dies at once must not turn into a ticket per second.
    if (Date.now() - started >= QUICK_EXIT_MS) {
      this.viewerBackoff.reset();
    } else {
      const delay = this.viewerBackoff.next();
      this.deps.screen.show(`Reconnecting in ${Math.ceil(delay / 1000)} s`);
      await this.wait(delay);
    }
  }
}

function ticketOf(res: StartupCheckResponse): ViewerTicket {
  const t = res.ticket!;
  return {
    protocol: t.protocol === GraphicsProtocol.SPICE ? "spice" : "vnc",
    host: t.host,
    port: t.port,
    password: t.password,
    expireTime: t.expireTime ? timestampDate(t.expireTime) : new Date(),
    title: res.instanceName,
  };
}

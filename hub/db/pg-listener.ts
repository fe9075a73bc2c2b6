import pg from "pg";
import type { Logger } from "pino";
import { FullJitterBackoff } from "../../lib/backoff/full-jitter-backoff.js";

type Handler = (payload: string) => void;

/**
 * The one dedicated PostgreSQL connection a hub LISTENs on. A pooled connection cannot LISTEN (it
 * is handed to other queries), and a lost one must not take the hub down: pg.Client emits 'error'
 * when the server restarts or the socket drops, and an unhandled 'error' event kills the process.
 * So the listener reconnects with backoff and re-issues every LISTEN. Notices sent while it was
 * away are lost (NOTIFY is not queued for absent listeners); callers keep a polling fallback.
 */
export class PgListener {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly backoff = new FullJitterBackoff({ baseMs: 200, capMs: 10_000 });
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private established = 0;

  constructor(
    private readonly url: string,
    private readonly log?: Logger,
  ) {}

  async listen(channel: string, onPayload: Handler): Promise<() => Promise<void>> {
    const client = await this.connected();
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    }
    set.add(onPayload);
    const handlers = set;
    return async () => {
      handlers.delete(onPayload);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** How many LISTEN connections have been established so far (1 until the first loss). */
  get connectionsEstablished(): number {
    return this.established;
  }

  /** True while a LISTEN connection is up (tests, health). */
  get isConnected(): boolean {
    return this.client !== undefined;
  }

  private connected(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url });
    // Attached before connect(): an error during or after the handshake is handled, never thrown at the process.
    client.on("error", (err) => this.lost(client, err));
    client.on("end", () => this.lost(client, new Error("LISTEN connection ended")));
    client.on("notification", (n) => this.handlers.get(n.channel)?.forEach((h) => h(n.payload ?? "")));
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    if (this.closed) {
      await client.end().catch(() => undefined);
      throw new Error("Listener closed");
    }
    this.client = client;
    this.established += 1;
    this.backoff.reset();
    return client;
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    client.removeAllListeners("notification");
    void client.end().catch(() => undefined);
    this.log?.warn({ err }, "LISTEN connection lost; reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connected().then(
        () => this.log?.info({ channels: [...this.handlers.keys()] }, "LISTEN connection restored"),
        (err: unknown) => {
          this.log?.warn({ err }, "LISTEN reconnect failed");
          this.scheduleReconnect();
        },
      );
    }, delay);
    this.retryTimer.unref();
  }
}

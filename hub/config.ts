import { Command, InvalidArgumentError, Option } from "commander";
import path from "node:path";
import { InvalidArgumentError as InvalidFieldError } from "./domain/errors.js";
import { checkPassword } from "./auth/password-policy.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The hub's configuration, parsed once at start and frozen. Only this file reads process.env. */
export interface HubConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  /** postgres://… selects PostgreSQL; undefined selects embedded PGlite under dataDir. */
  readonly databaseUrl: string | undefined;
  /** Password of the first admin; generated and printed once when undefined. */
  readonly adminPassword: string | undefined;
  readonly logLevel: LogLevel;
  readonly logPretty: boolean | undefined;
  /** Lifetime of a bearer token from AuthService.Login. */
  readonly tokenTtlSeconds: number;
  /** Largest admin API request body accepted, in bytes. */
  readonly maxRequestBytes: number;
  /** Hostnames and IPs written into the agent endpoint's server certificate. */
  readonly advertisedNames: readonly string[];
  /** Upper bound for a graceful stop before the hub gives up waiting. */
  readonly shutdownTimeoutMs: number;
  /** Identifies this hub among several sharing one database. */
  readonly hubId: string | undefined;
  /** Agent heartbeat interval sent in Welcome. */
  readonly heartbeatIntervalMs: number;
  /** Agent metrics interval sent in Welcome. */
  readonly metricsIntervalMs: number;
  /** Time between metrics rollup/retention passes. */
  readonly metricsMaintenanceIntervalMs: number;
  /** After a start, this hub declares no agent offline for this long (agents are reconnecting). */
  readonly restartGraceMs: number;
  /** On shutdown, agents are told to reconnect at a random point in this window. */
  readonly drainSpreadMs: number;
  /** Admin port connection limits: header deadline, idle close, per-address cap. */
  readonly httpHeadersTimeoutMs: number;
  readonly httpIdleTimeoutMs: number;
  readonly httpMaxConnectionsPerAddress: number;
  /** Agent port connection limits: a first-byte deadline and a per-address cap. */
  readonly agentFirstByteTimeoutMs: number;
  readonly agentMaxConnectionsPerAddress: number;
  /** Where /metrics is served (not on the admin port: it is public there); undefined = off. */
  readonly metricsListen: ListenAddress | undefined;
  /** Browser origins (scheme://host[:port]) allowed to call the admin API cross-origin; none by default. */
  readonly corsOrigins: readonly string[];
  /** Content-addressed image bytes (hub/image-content/); <data dir>/images by default. */
  readonly imageStoreDir: string;
  /** Largest image version content an upload may send. */
  readonly imageMaxBytes: number;
  /** libvirt network for instance NICs: "" = the host's default, "none" = no NIC (until VPCs). */
  readonly instanceNetwork: string;
}

/** Where /metrics listens; undefined when turned off. */
export interface ListenAddress {
  host: string;
  port: number;
}

function metricsListen(value: string): ListenAddress | undefined {
  const v = value.trim();
  if (v === "none") return undefined;
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(v);
  const portNumber = m ? Number(m[2]) : NaN;
  if (!m || portNumber > 65535)
    throw new ConfigError(`--metrics-listen must be host:port (e.g. 127.0.0.1:9464) or none, got "${v.slice(0, 64)}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: portNumber };
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function port(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      throw new InvalidArgumentError(`${name} must be an integer from 0 to 65535, got "${value}"`);
    }
    return n;
  };
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${value}"`);
    return n;
  };
}

/** Comma-separated browser origins, each exactly scheme://host[:port] as browsers send them. */
function corsOrigins(value: string): string[] {
  const origins = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      throw new InvalidArgumentError(
        `--cors-origin entries must be origins like https://console.example.org (scheme://host[:port], no path), got "${origin}"`,
      );
    }
  }
  return origins;
}

function logLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`log level must be one of ${LOG_LEVELS.join(", ")}, got "${value}"`);
  }
  return value as LogLevel;
}

/** Builds the command-line definition; environment variables are the defaults, flags win. */
export function hubCommand(): Command {
  return (
    new Command("edgehub")
      .description("edgehub hub: the authoritative fleet model, the admin API and the agent endpoint")
      .addOption(
        new Option("--data-dir <dir>", "data directory (embedded database, CA, certificates)")
          .env("HUB_DATA_DIR")
          .default("./data"),
      )
      .addOption(new Option("--host <address>", "address to listen on").env("HUB_HOST").default("0.0.0.0"))
      .addOption(
        new Option("--http-port <port>", "admin API port (Connect, gRPC, gRPC-web; /healthz)")
          .env("HUB_HTTP_PORT")
          .default(8080)
          .argParser(port("--http-port")),
      )
      .addOption(
        new Option("--grpc-port <port>", "agent endpoint port (gRPC over TLS)")
          .env("HUB_GRPC_PORT")
          .default(9443)
          .argParser(port("--grpc-port")),
      )
      .addOption(new Option("--database-url <url>", "PostgreSQL URL; embedded PGlite when unset").env("DATABASE_URL"))
      .addOption(
        new Option("--log-level <level>", `one of ${LOG_LEVELS.join(", ")}`)
          .env("HUB_LOG_LEVEL")
          .default("info")
          .argParser(logLevel),
      )
      .addOption(
        new Option("--log-format <format>", "json or pretty; pretty when stdout is a TTY")
          .env("HUB_LOG_FORMAT")
          .choices(["json", "pretty"]),
      )
      .addOption(
        new Option("--token-ttl <seconds>", "bearer token lifetime")
          .env("HUB_TOKEN_TTL_SECONDS")
          .default(12 * 3600)
          .argParser(positiveInt("--token-ttl")),
      )
      .addOption(
        new Option("--max-request-bytes <bytes>", "largest admin API request body")
          .env("HUB_MAX_REQUEST_BYTES")
          .default(4 * 1024 * 1024)
          .argParser(positiveInt("--max-request-bytes")),
      )
      .addOption(
        new Option("--advertise <names>", "comma-separated hostnames/IPs for the agent endpoint certificate")
          .env("HUB_ADVERTISE")
          .default("localhost,127.0.0.1"),
      )
      .addOption(
        new Option("--hub-id <id>", "name of this hub among several on one database; hostname:port when unset").env(
          "HUB_ID",
        ),
      )
      .addOption(
        new Option("--heartbeat-interval <ms>", "agent heartbeat interval sent in Welcome")
          .env("HUB_HEARTBEAT_INTERVAL_MS")
          .default(10_000)
          .argParser(positiveInt("--heartbeat-interval")),
      )
      .addOption(
        new Option("--metrics-interval <ms>", "agent metrics interval sent in Welcome")
          .env("HUB_METRICS_INTERVAL_MS")
          .default(30_000)
          .argParser(positiveInt("--metrics-interval")),
      )
      .addOption(
        new Option("--metrics-maintenance-interval <ms>", "time between hourly-rollup and retention passes")
          .env("HUB_METRICS_MAINTENANCE_INTERVAL_MS")
          .default(60_000)
          .argParser(positiveInt("--metrics-maintenance-interval")),
      )
      .addOption(
        new Option(
          "--restart-grace <ms>",
          "after start, no agent is declared offline for this long (longer while agents are still coming back, up to 5x)",
        )
          .env("HUB_RESTART_GRACE_MS")
          .default(60_000)
          .argParser(nonNegativeInt("--restart-grace")),
      )
      .addOption(
        new Option("--drain-spread <ms>", "on shutdown, agents reconnect spread over this window")
          .env("HUB_DRAIN_SPREAD_MS")
          .default(10_000)
          .argParser(nonNegativeInt("--drain-spread")),
      )
      .addOption(
        new Option("--http-headers-timeout <ms>", "admin port: a connection must send its request headers within this")
          .env("HUB_HTTP_HEADERS_TIMEOUT_MS")
          .default(10_000)
          .argParser(positiveInt("--http-headers-timeout")),
      )
      .addOption(
        new Option("--http-idle-timeout <ms>", "admin port: an idle connection is closed after this")
          .env("HUB_HTTP_IDLE_TIMEOUT_MS")
          .default(60_000)
          .argParser(positiveInt("--http-idle-timeout")),
      )
      .addOption(
        new Option("--http-max-connections-per-address <n>", "admin port: open connections one remote address may hold")
          .env("HUB_HTTP_MAX_CONNECTIONS_PER_ADDRESS")
          .default(256)
          .argParser(positiveInt("--http-max-connections-per-address")),
      )
      .addOption(
        new Option("--agent-first-byte-timeout <ms>", "agent port: a new connection must start TLS within this")
          .env("HUB_AGENT_FIRST_BYTE_TIMEOUT_MS")
          .default(10_000)
          .argParser(positiveInt("--agent-first-byte-timeout")),
      )
      .addOption(
        new Option(
          "--agent-max-connections-per-address <n>",
          "agent port: open connections one remote address may hold (agents behind one NAT share it)",
        )
          .env("HUB_AGENT_MAX_CONNECTIONS_PER_ADDRESS")
          .default(1024)
          .argParser(positiveInt("--agent-max-connections-per-address")),
      )
      .addOption(
        new Option(
          "--metrics-listen <host:port>",
          "where /metrics (Prometheus) is served, apart from the admin API; 'none' turns it off",
        )
          .env("HUB_METRICS_LISTEN")
          .default("127.0.0.1:9464"),
      )
      .addOption(
        new Option(
          "--cors-origin <origins>",
          "comma-separated browser origins allowed to call the admin API (e.g. a web console); none when unset",
        )
          .env("HUB_CORS_ORIGINS")
          .default([], "none")
          .argParser(corsOrigins),
      )
      .addOption(
        new Option("--image-store <dir>", "directory of uploaded image content; <data dir>/images when unset").env(
          "HUB_IMAGE_STORE",
        ),
      )
      .addOption(
        new Option("--image-max-bytes <bytes>", "largest image content an upload may send")
          .env("HUB_IMAGE_MAX_BYTES")
          .default(20 * 1024 ** 3)
          .argParser(positiveInt("--image-max-bytes")),
      )
      .addOption(
        new Option("--instance-network <name>", 'libvirt network for instance NICs ("none": no NIC)')
          .env("HUB_INSTANCE_NETWORK")
          .default("", "the host's default network"),
      )
      .addOption(
        new Option("--shutdown-timeout <ms>", "longest wait for in-flight work on stop")
          .env("HUB_SHUTDOWN_TIMEOUT_MS")
          .default(8_000)
          .argParser(positiveInt("--shutdown-timeout")),
      )
      .helpOption("-h, --help", "show this help")
      .showHelpAfterError()
      .allowExcessArguments(false)
      // Throw instead of process.exit so callers (and tests) decide; main.ts maps it to an exit code.
      .exitOverride()
  );
}

/** Where commander writes errors (and the help shown after one); stderr unless a caller captures it. */
export interface ConfigOutput {
  writeErr(text: string): void;
}

/** Parses argv (without node and script) and the environment into a frozen HubConfig. */
export function parseHubConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  output?: ConfigOutput,
): HubConfig {
  const command = hubCommand();
  if (output) command.configureOutput({ writeErr: (text) => output.writeErr(text) });
  // commander reads option env vars from process.env; scope it to the env we were given.
  const saved = process.env;
  process.env = env;
  try {
    command.parse([...argv], { from: "user" });
  } finally {
    process.env = saved;
  }
  const o = command.opts<{
    dataDir: string;
    host: string;
    httpPort: number | string;
    grpcPort: number | string;
    databaseUrl?: string;
    logLevel: string;
    logFormat?: string;
    tokenTtl: number | string;
    maxRequestBytes: number | string;
    advertise: string;
    hubId?: string;
    heartbeatInterval: number | string;
    shutdownTimeout: number | string;
    metricsInterval: number | string;
    metricsMaintenanceInterval: number | string;
    restartGrace: number | string;
    drainSpread: number | string;
    corsOrigin: string[];
    httpHeadersTimeout: number | string;
    httpIdleTimeout: number | string;
    httpMaxConnectionsPerAddress: number | string;
    metricsListen: string;
    agentFirstByteTimeout: number | string;
    agentMaxConnectionsPerAddress: number | string;
    imageStore?: string;
    imageMaxBytes: number | string;
    instanceNetwork: string;
  }>();
  // Defaults given as numbers skip argParser; env values are strings that went through it.
  const databaseUrl = o.databaseUrl?.trim() || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      `DATABASE_URL must start with postgres:// or postgresql://, got "${databaseUrl.replace(/\/\/.*@/, "//…@")}"`,
    );
  }
  return Object.freeze({
    dataDir: path.resolve(o.dataDir),
    host: o.host,
    httpPort: Number(o.httpPort),
    grpcPort: Number(o.grpcPort),
    databaseUrl,
    adminPassword: adminPasswordOf(env.HUB_ADMIN_PASSWORD),
    logLevel: logLevel(o.logLevel),
    logPretty: o.logFormat === undefined ? undefined : o.logFormat === "pretty",
    tokenTtlSeconds: Number(o.tokenTtl),
    maxRequestBytes: Number(o.maxRequestBytes),
    advertisedNames: Object.freeze(
      o.advertise
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
    shutdownTimeoutMs: Number(o.shutdownTimeout),
    hubId: o.hubId,
    heartbeatIntervalMs: Number(o.heartbeatInterval),
    metricsIntervalMs: Number(o.metricsInterval),
    metricsMaintenanceIntervalMs: Number(o.metricsMaintenanceInterval),
    restartGraceMs: Number(o.restartGrace),
    drainSpreadMs: Number(o.drainSpread),
    corsOrigins: Object.freeze([...o.corsOrigin]),
    httpHeadersTimeoutMs: Number(o.httpHeadersTimeout),
    httpIdleTimeoutMs: Number(o.httpIdleTimeout),
    httpMaxConnectionsPerAddress: Number(o.httpMaxConnectionsPerAddress),
    metricsListen: metricsListen(o.metricsListen),
    agentFirstByteTimeoutMs: Number(o.agentFirstByteTimeout),
    agentMaxConnectionsPerAddress: Number(o.agentMaxConnectionsPerAddress),
    imageStoreDir: path.resolve(o.imageStore?.trim() || path.join(o.dataDir, "images")),
    imageMaxBytes: Number(o.imageMaxBytes),
    instanceNetwork: o.instanceNetwork.trim(),
  });
}

/** HUB_ADMIN_PASSWORD obeys the same rule as every password set through the API. */
function adminPasswordOf(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    return checkPassword("HUB_ADMIN_PASSWORD", raw, "admin");
  } catch (err) {
    if (err instanceof InvalidFieldError) throw new ConfigError(err.message);
    throw err;
  }
}

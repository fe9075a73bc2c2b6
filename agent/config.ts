import os from "node:os";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { FLEET_ROLES, type FleetRole } from "../lib/fleet-session/fleet-role.js";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/** The agent's configuration, parsed once at start and frozen. Only this file reads process.env. */
export interface AgentConfig {
  readonly hub: string;
  readonly joinToken: string | undefined;
  readonly hubCaFile: string | undefined;
  readonly stateDir: string;
  readonly role: FleetRole;
  readonly hostname: string;
  readonly logLevel: LogLevel;
  readonly logPretty: boolean | undefined;
  readonly metrics: boolean;
  /** host:port for the agent's own /metrics; undefined serves none. */
  readonly metricsListen: { host: string; port: number } | undefined;
  /** Compute role: libvirt connection URI, domain type and where instance files live. */
  readonly libvirtUri: string;
  /** `kvm` in production, `qemu` (TCG) where KVM is unusable; `test:///…` URIs always use libvirt's `test` type. */
  readonly domainType: "kvm" | "qemu" | "test";
  readonly instanceDir: string;
  /** Compute role: the image cache (agent/image-cache) directory and size bound. */
  readonly imageCacheDir: string;
  readonly imageCacheGb: number;
  /** ceph_gateway role: how the agent reaches its Ceph cluster (agent/rbd). */
  readonly ceph: {
    /** ceph.conf; when undefined and no mon host is given, /etc/ceph/ceph.conf. */
    readonly conf: string | undefined;
    readonly monHost: string | undefined;
    /** cephx user without "client." (production: a restricted user, see agent/README.md). */
    readonly user: string;
    readonly keyring: string | undefined;
    readonly timeoutSeconds: number;
  };
  /** Test only: enables the `count` executor, which appends each executed command id to this file. */
  readonly testCountFile: string | undefined;
}

export class AgentConfigError extends Error {
  override readonly name = "AgentConfigError";
}

/** host:port, or several comma-separated for a site with several hubs. */
function hubAddress(value: string): string {
  for (const hub of value.split(",")) {
    if (!/^(\[[^\]]+\]|[^:\s,]+):\d{1,5}$/.test(hub.trim()))
      throw new InvalidArgumentError(`--hub must be host:port[,host:port…], got "${value}"`);
  }
  return value;
}

function listenAddress(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new InvalidArgumentError(`--metrics-listen must be host:port, got "${value}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${flag} must be a positive number, got "${value}"`);
    return n;
  };
}

export function agentCommand(): Command {
  return (
    new Command("edgehub-agent")
      .description(
        "edgehub agent: enrolls with a hub, holds an mTLS session and runs the hub's commands on this machine",
      )
      .addOption(
        new Option("--hub <host:port>", "the hub's agent endpoint; comma-separated for several hubs")
          .env("EDGEHUB_HUB")
          .argParser(hubAddress)
          .makeOptionMandatory(),
      )
      .addOption(
        new Option("--join-token <token>", "join token from FleetService/CreateJoinToken (first run only)").env(
          "EDGEHUB_JOIN_TOKEN",
        ),
      )
      .addOption(
        new Option("--hub-ca <file>", "hub CA certificate, instead of pinning by the token's fingerprint").env(
          "EDGEHUB_HUB_CA",
        ),
      )
      .addOption(
        new Option("--state-dir <dir>", "where the key, certificate, hub CA and command journal live")
          .env("EDGEHUB_STATE_DIR")
          .default("/var/lib/edgehub-agent"),
      )
      .addOption(
        new Option("--role <role>", "machine role")
          .choices([...FLEET_ROLES])
          .env("EDGEHUB_ROLE")
          .default("compute"),
      )
      .addOption(new Option("--hostname <name>", "name to enroll and report as").env("EDGEHUB_HOSTNAME"))
      .addOption(
        new Option("--log-level <level>", `one of ${LOG_LEVELS.join(", ")}`)
          .choices([...LOG_LEVELS])
          .env("EDGEHUB_LOG_LEVEL")
          .default("info"),
      )
      .addOption(
        new Option("--log-format <format>", "json or pretty").choices(["json", "pretty"]).env("EDGEHUB_LOG_FORMAT"),
      )
      .addOption(new Option("--no-metrics", "do not send host metrics"))
      .addOption(
        new Option("--metrics-listen <host:port>", "serve the agent's Prometheus metrics at http://host:port/metrics")
          .env("EDGEHUB_METRICS_LISTEN")
          .argParser(listenAddress),
      )
      .addOption(
        new Option("--libvirt-uri <uri>", "compute role: libvirt connection URI")
          .env("EDGEHUB_LIBVIRT_URI")
          .default("qemu:///system"),
      )
      .addOption(
        new Option("--domain-type <type>", "compute role: kvm, or qemu (TCG) where KVM is unusable")
          .choices(["kvm", "qemu"])
          .env("EDGEHUB_DOMAIN_TYPE")
          .default("kvm"),
      )
      .addOption(
        new Option("--instance-dir <dir>", "compute role: per-domain overlays and serial logs (readable by QEMU)")
          .env("EDGEHUB_INSTANCE_DIR")
          .default("/var/lib/edgehub/instances"),
      )
      .addOption(
        new Option("--image-cache-dir <dir>", "compute role: cached image versions (readable by QEMU)")
          .env("EDGEHUB_IMAGE_CACHE_DIR")
          .default("/var/lib/edgehub/images"),
      )
      .addOption(
        new Option("--image-cache-gb <gb>", "compute role: size bound of the image cache")
          .env("EDGEHUB_IMAGE_CACHE_GB")
          .argParser(positiveNumber("--image-cache-gb"))
          .default(50),
      )
      .addOption(
        new Option(
          "--ceph-conf <file>",
          "ceph_gateway role: ceph.conf (default /etc/ceph/ceph.conf without --ceph-mon-host)",
        ).env("EDGEHUB_CEPH_CONF"),
      )
      .addOption(
        new Option(
          "--ceph-mon-host <hosts>",
          "ceph_gateway role: mon addresses, overriding the conf's (host:port,…)",
        ).env("EDGEHUB_CEPH_MON_HOST"),
      )
      .addOption(
        new Option("--ceph-user <name>", 'ceph_gateway role: cephx user, without "client."')
          .env("EDGEHUB_CEPH_USER")
          .default("admin"),
      )
      .addOption(
        new Option("--ceph-keyring <file>", "ceph_gateway role: the cephx user's keyring").env("EDGEHUB_CEPH_KEYRING"),
      )
      .addOption(
        new Option("--ceph-timeout <seconds>", "ceph_gateway role: connect, mon and OSD operation timeout")
          .env("EDGEHUB_CEPH_TIMEOUT")
          .argParser(positiveNumber("--ceph-timeout"))
          .default(10),
      )
      .helpOption("-h, --help", "show this help")
      .showHelpAfterError()
      .allowExcessArguments(false)
      // Throw instead of exiting so main() decides the exit code (and tests can parse bad input).
      .exitOverride()
  );
}

export function parseAgentConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const command = agentCommand();
  const saved = process.env;
  process.env = env;
  try {
    command.parse([...argv], { from: "user" });
  } finally {
    process.env = saved;
  }
  const o = command.opts<{
    hub: string;
    joinToken?: string;
    hubCa?: string;
    stateDir: string;
    role: FleetRole;
    hostname?: string;
    logLevel: LogLevel;
    logFormat?: string;
    metrics: boolean;
    metricsListen?: { host: string; port: number };
    libvirtUri: string;
    domainType: "kvm" | "qemu";
    instanceDir: string;
    imageCacheDir: string;
    imageCacheGb: number;
    cephConf?: string;
    cephMonHost?: string;
    cephUser: string;
    cephKeyring?: string;
    cephTimeout: number;
  }>();
  return Object.freeze({
    hub: o.hub,
    joinToken: o.joinToken?.trim() || undefined,
    hubCaFile: o.hubCa ? path.resolve(o.hubCa) : undefined,
    stateDir: path.resolve(o.stateDir),
    role: o.role,
    hostname: o.hostname?.trim() || os.hostname(),
    logLevel: o.logLevel,
    logPretty: o.logFormat === undefined ? undefined : o.logFormat === "pretty",
    metrics: o.metrics,
    metricsListen: o.metricsListen,
    libvirtUri: o.libvirtUri,
    // libvirt's test driver accepts only its own domain type.
    domainType: o.libvirtUri.startsWith("test:") ? "test" : o.domainType,
    instanceDir: path.resolve(o.instanceDir),
    imageCacheDir: path.resolve(o.imageCacheDir),
    imageCacheGb: o.imageCacheGb,
    ceph: Object.freeze({
      conf: o.cephConf ? path.resolve(o.cephConf) : o.cephMonHost ? undefined : "/etc/ceph/ceph.conf",
      monHost: o.cephMonHost?.trim() || undefined,
      user: o.cephUser.trim().replace(/^client\./, ""),
      keyring: o.cephKeyring ? path.resolve(o.cephKeyring) : undefined,
      timeoutSeconds: o.cephTimeout,
    }),
    testCountFile: env.EDGEHUB_AGENT_TEST_COUNT_FILE || undefined,
  });
}

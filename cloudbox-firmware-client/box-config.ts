import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command, Option } from "commander";

/** The cloud box client's flags, parsed once into a frozen object (only this file reads process.env). */
export interface BoxConfig {
  hub: string;
  joinToken?: string | undefined;
  hubCa?: string | undefined;
  stateDir: string;
  hostname: string;
  /** The admin API (AuthService.Login and the instance calls of the login path), e.g. http://hub:8080. */
  apiUrl?: string | undefined;
  serialNumber: string;
  macAddress?: string | undefined;
  model: string;
  manufacturer: string;
  networkMode?: "dhcp" | "static" | undefined;
  gateway?: string | undefined;
  dns: string[];
  subnetMask?: string | undefined;
  viewerCmd: string;
  logLevel: string;
  logFormat?: string | undefined;
  metrics: boolean;
  /** Unreachable hub: retries back off from base to cap (full jitter). */
  retryBaseMs: number;
  retryCapMs: number;
}

function list(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

export function parseBoxConfig(argv: string[]): BoxConfig {
  const command = new Command("edgehub-cloudbox")
    .description(
      "edgehub cloud box client: enrolls with the hub, reports device metrics, boots into its bound instance or shows a login",
    )
    .addOption(new Option("--hub <host:port>", "the hub's agent endpoint").env("EDGEHUB_HUB").makeOptionMandatory())
    .addOption(new Option("--join-token <token>", "site join token (first boot only)").env("EDGEHUB_JOIN_TOKEN"))
    .addOption(new Option("--hub-ca <file>", "hub CA certificate instead of pinning").env("EDGEHUB_HUB_CA"))
    .addOption(
      new Option("--state-dir <dir>", "key, certificate and journal")
        .env("EDGEHUB_STATE_DIR")
        .default("/var/lib/edgehub-cloudbox"),
    )
    .addOption(new Option("--hostname <name>", "name to report").env("EDGEHUB_HOSTNAME"))
    .addOption(new Option("--api-url <url>", "the hub's admin API, for the login path").env("EDGEHUB_API_URL"))
    .addOption(
      new Option("--serial-number <serial>", "device serial number (default: /etc/machine-id)").env(
        "EDGEHUB_SERIAL_NUMBER",
      ),
    )
    .addOption(new Option("--mac-address <mac>", "device MAC (default: the first non-internal NIC)").env("EDGEHUB_MAC"))
    .addOption(new Option("--model <model>", "device model").env("EDGEHUB_MODEL").default("edgehub-box"))
    .addOption(new Option("--manufacturer <name>", "device manufacturer").env("EDGEHUB_MANUFACTURER").default(""))
    .addOption(
      new Option("--network-mode <mode>", "network config reported: dhcp or static").choices(["dhcp", "static"]),
    )
    .addOption(new Option("--gateway <ip>", "gateway reported"))
    .addOption(new Option("--dns <ips>", "DNS servers reported (comma-separated, repeatable)").argParser(list))
    .addOption(new Option("--subnet-mask <mask>", "subnet mask reported"))
    .addOption(
      new Option("--viewer-cmd <command>", "the viewer run with the .vv file as its last argument")
        .env("EDGEHUB_VIEWER_CMD")
        .default("remote-viewer"),
    )
    .addOption(new Option("--log-level <level>", "pino level").env("EDGEHUB_LOG_LEVEL").default("info"))
    .addOption(
      new Option("--log-format <format>", "json or pretty").choices(["json", "pretty"]).env("EDGEHUB_LOG_FORMAT"),
    )
    .addOption(new Option("--no-metrics", "do not send device metrics"))
    .addOption(
      new Option("--retry-base-ms <ms>", "first retry delay when the hub is unreachable").default("1000").hideHelp(),
    )
    .addOption(new Option("--retry-cap-ms <ms>", "longest retry delay").default("30000").hideHelp())
    .allowExcessArguments(false);
  command.parse(argv, { from: "user" });
  const o = command.opts<Record<string, unknown>>();
  const serial = (o.serialNumber as string | undefined) ?? machineSerial();
  const num = (name: string) => {
    const n = Number(o[name]);
    if (!Number.isInteger(n) || n <= 0)
      throw new Error(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive integer`);
    return n;
  };
  return Object.freeze({
    hub: o.hub as string,
    joinToken: o.joinToken as string | undefined,
    hubCa: o.hubCa as string | undefined,
    stateDir: path.resolve(o.stateDir as string),
    hostname: (o.hostname as string | undefined) || os.hostname(),
    apiUrl: o.apiUrl as string | undefined,
    serialNumber: serial,
    macAddress: o.macAddress as string | undefined,
    model: o.model as string,
    manufacturer: o.manufacturer as string,
    networkMode: o.networkMode as "dhcp" | "static" | undefined,
    gateway: o.gateway as string | undefined,
    dns: (o.dns as string[] | undefined) ?? [],
    subnetMask: o.subnetMask as string | undefined,
    viewerCmd: o.viewerCmd as string,
    logLevel: o.logLevel as string,
    logFormat: o.logFormat as string | undefined,
    metrics: o.metrics as boolean,
    retryBaseMs: num("retryBaseMs"),
    retryCapMs: num("retryCapMs"),
  });
}

function machineSerial(): string {
  try {
    const id = fs.readFileSync("/etc/machine-id", "utf8").trim();
    if (id) return id;
  } catch {
    // fall through
  }
  return os.hostname();
}

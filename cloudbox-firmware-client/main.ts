#!/usr/bin/env node
import os from "node:os";
import path from "node:path";
import { Command, CommanderError, Option } from "commander";
import { collectInventory } from "../lib/host-facts/collect-inventory.js";
import { sampleMetrics } from "../lib/host-facts/sample-metrics.js";
import { create } from "@bufbuild/protobuf";
import { CommandResultSchema } from "../gen/edgehub/common/v1/command_pb.js";
import type { CommandExecutors } from "../lib/fleet-session/command-dispatcher.js";
import { FleetSession } from "../lib/fleet-session/fleet-session.js";
import { createLogger } from "../lib/logging/create-logger.js";

// Minimal for now: a cloud box enrolls with a site token ("plug and play") and holds a session
// through the same session core as the agent. Viewer, binding and firmware upgrades come later.
const VERSION = "0.1.0";

function parse(argv: string[]) {
  const command = new Command("cloudbox-firmware-client")
    .description("edgehub cloud box client: enrolls with the hub and keeps a session")
    .addOption(new Option("--hub <host:port>", "the hub's agent endpoint").env("EDGEHUB_HUB").makeOptionMandatory())
    .addOption(new Option("--join-token <token>", "site join token (first boot only)").env("EDGEHUB_JOIN_TOKEN"))
    .addOption(new Option("--hub-ca <file>", "hub CA certificate instead of pinning").env("EDGEHUB_HUB_CA"))
    .addOption(
      new Option("--state-dir <dir>", "key, certificate and journal")
        .env("EDGEHUB_STATE_DIR")
        .default("/var/lib/edgehub-cloudbox"),
    )
    .addOption(new Option("--hostname <name>", "name to report").env("EDGEHUB_HOSTNAME"))
    .addOption(new Option("--log-level <level>", "pino level").env("EDGEHUB_LOG_LEVEL").default("info"))
    .addOption(
      new Option("--log-format <format>", "json or pretty").choices(["json", "pretty"]).env("EDGEHUB_LOG_FORMAT"),
    )
    .addOption(new Option("--no-metrics", "do not send device metrics"))
    .allowExcessArguments(false);
  command.parse(argv, { from: "user" });
  const o = command.opts<{
    hub: string;
    joinToken?: string;
    hubCa?: string;
    stateDir: string;
    hostname?: string;
    logLevel: string;
    logFormat?: string;
    metrics: boolean;
  }>();
  return Object.freeze({ ...o, stateDir: path.resolve(o.stateDir), hostname: o.hostname || os.hostname() });
}

async function main(): Promise<number> {
  let config;
  try {
    config = parse(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  const log = createLogger({
    name: "cloudbox-firmware-client",
    level: config.logLevel as "info",
    ...(config.logFormat ? { pretty: config.logFormat === "pretty" } : {}),
  });
  const inventory = async () => ({ ...(await collectInventory()), hostname: config.hostname });
  const executors: CommandExecutors = {
    echo: async (payload) =>
      create(CommandResultSchema, { kind: { case: "echo", value: { message: payload.message } } }),
  };
  return new Promise<number>((resolve) => {
    const session = new FleetSession({
      hub: config.hub,
      role: "cloud_box",
      stateDir: config.stateDir,
      joinToken: config.joinToken,
      hubCaFile: config.hubCa,
      hostname: config.hostname,
      agentVersion: VERSION,
      executors,
      collectInventory: inventory,
      sampleMetrics: config.metrics ? () => sampleMetrics() : undefined,
      log,
      onFatal: (err) =>
        void session
          .stop()
          .then(
            () => resolve(3),
            () => resolve(3),
          )
          .finally(() => log.fatal({ err }, err.message)),
    });
    session.start().catch((err) => {
      log.fatal({ err }, `Cloud box client failed to start: ${(err as Error).message}`);
      resolve(1);
    });
    const onSignal = () => void session.stop().then(() => resolve(0));
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err) => {
    process.stderr.write(`cloudbox-firmware-client: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

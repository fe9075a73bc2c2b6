#!/usr/bin/env node
import fs from "node:fs";
import { CommanderError } from "commander";
import type { CommandExecutors } from "../lib/fleet-session/command-dispatcher.js";
import { FleetSession } from "../lib/fleet-session/fleet-session.js";
import { FullJitterBackoff } from "../lib/backoff/full-jitter-backoff.js";
import { createLogger } from "../lib/logging/create-logger.js";
import { parseBoxConfig } from "./box-config.js";
import { boxExecutors } from "./box-executors.js";
import { boxHostSample, boxInventory } from "./box-host-facts.js";
import { BootFlow } from "./boot-flow.js";
import { deviceFacts } from "./device-facts.js";
import { deviceMetricsSampler } from "./device-metrics.js";
import { stdoutScreen } from "./screen.js";
import { callStartupCheck } from "./startup-client.js";
import { TerminalInput } from "./terminal-input.js";
import { Viewer } from "./viewer.js";
import { installFirmwareExecutor } from "./firmware/install-firmware-executor.js";

// edgehub-cloudbox: enrolls with a site token ("plug and play", the box registers as initializing
// and comes online with its first Hello), holds the fleet session (heartbeats, device metrics,
// commands), and runs the boot flow: bound instance straight away, else the login.
const VERSION = "0.1.0";

async function main(): Promise<number> {
  let config;
  try {
    config = parseBoxConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`edgehub-cloudbox: ${(err as Error).message}\n`);
    return 2;
  }
  // Logs go to stderr: stdout is the box's screen.
  const log = createLogger({
    name: "edgehub-cloudbox",
    level: config.logLevel as "info",
    destination: 2,
    ...(config.logFormat ? { pretty: config.logFormat === "pretty" } : {}),
  });
  fs.mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const screen = stdoutScreen();
  const input = new TerminalInput();
  const viewer = new Viewer(config.viewerCmd, config.stateDir, log.child({ component: "viewer" }));
  let flow: BootFlow | undefined;
  const box = boxExecutors({
    reboot: (reason) => {
      log.info({ reason }, "Reboot requested by the hub");
      screen.show(`Restarting${reason ? `: ${reason}` : ""}`);
      flow?.restart();
    },
  });
  const executors: CommandExecutors = {
    ...box.executors,
    installFirmware: installFirmwareExecutor({ hub: config.hub, stateDir: config.stateDir, log }),
  };
  const firmwareVersion = () => VERSION;
  const session = new FleetSession({
    hub: config.hub,
    role: "cloud_box",
    stateDir: config.stateDir,
    joinToken: config.joinToken,
    hubCaFile: config.hubCa,
    hostname: config.hostname,
    agentVersion: VERSION,
    executors,
    collectInventory: boxInventory(config.hostname),
    sampleMetrics: config.metrics ? boxHostSample(config.stateDir) : undefined,
    sampleCloudBoxMetrics: config.metrics ? deviceMetricsSampler(config.stateDir) : undefined,
    cloudBoxFacts: deviceFacts(config, firmwareVersion, (p) => fs.readFileSync(p, "utf8")),
    log,
    observer: {
      connected: () => screen.show("Connected to the hub"),
      // The viewer talks to the compute machine, not the hub: it keeps running.
      disconnected: (reason) =>
        screen.show(
          viewer.running
            ? `The hub is unreachable (${reason}); your session stays open`
            : `The hub is unreachable (${reason})`,
        ),
    },
  });
  return new Promise<number>((resolve) => {
    let exiting = false;
    const exit = async (code: number) => {
      if (exiting) return;
      exiting = true;
      await flow?.stop();
      input.close();
      await session.stop().catch(() => undefined);
      resolve(code);
    };
    session
      .start()
      .then(() => {
        flow = new BootFlow({
          hub: config.hub.split(",")[0]!.trim(),
          apiUrl: config.apiUrl,
          identity: () => session.identity!,
          startupCheck: callStartupCheck,
          viewer,
          screen,
          input,
          log: log.child({ component: "boot" }),
          backoff: new FullJitterBackoff({ baseMs: config.retryBaseMs, capMs: config.retryCapMs }),
          refusedRetryMs: 10_000,
        });
        flow.start();
      })
      .catch((err) => {
        log.fatal({ err }, `Cloud box client failed to start: ${(err as Error).message}`);
        void exit(1);
      });
    process.on("SIGTERM", () => void exit(0));
    process.on("SIGINT", () => void exit(0));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err) => {
    process.stderr.write(`edgehub-cloudbox: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

#!/usr/bin/env node
import { CommanderError } from "commander";
import { createLogger } from "../lib/logging/create-logger.js";
import { ConfigError, parseHubConfig } from "./config.js";
import { startHub } from "./hub.js";

const SIGNAL_ECHO_MS = 1_000;

async function main(): Promise<number> {
  let config;
  try {
    config = parseHubConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError) {
      process.stderr.write(`edgehub: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({
    name: "edgehub-hub",
    level: config.logLevel,
    ...(config.logPretty === undefined ? {} : { pretty: config.logPretty }),
  });
  let hub;
  try {
    hub = await startHub(config, { log });
  } catch (err) {
    log.fatal({ err }, `Hub failed to start: ${(err as Error).message}`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let signals = 0;
    let first: { signal: NodeJS.Signals; at: number } | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      // Ctrl-C under `npm start` arrives twice: the terminal signals the whole process group and npm
      // forwards its copy. The same signal again within a moment is that echo, not a second request.
      if (first && first.signal === signal && Date.now() - first.at < SIGNAL_ECHO_MS) return;
      first ??= { signal, at: Date.now() };
      signals++;
      if (signals > 1) {
        log.warn({ signal }, "Second signal: exiting now");
        resolve(1);
        return;
      }
      log.info({ signal }, "Signal received, shutting down");
      // Hard stop if graceful shutdown overruns its budget (the brief allows 10 s in all).
      setTimeout(() => {
        log.error("Shutdown overran its time budget: exiting");
        resolve(1);
      }, config.shutdownTimeoutMs + 1500).unref();
      hub.stop().then(
        () => resolve(0),
        (err) => {
          log.error({ err }, "Shutdown failed");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

main().then(
  (code) => {
    // Let pino flush, then exit even if a stray handle would keep the loop alive.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err) => {
    process.stderr.write(`edgehub: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

import type { Command } from "commander";
import type { AdminApi } from "./admin-services.js";
import type { CliIo } from "./cli-io.js";
import { configPath, readConfig, type CliConfig } from "./config-file.js";
import { openSession, type HubSession } from "./hub-session.js";
import type { ResourceKind } from "./resource-kinds.js";

/** What every command needs, built once in program.ts. */
export interface CliContext {
  readonly io: CliIo;
  readonly api: AdminApi;
  readonly kinds: readonly ResourceKind[];
  /** The config file (global --config, else $EDGEHUBCTL_CONFIG, else under the config directory). */
  configFile(cmd: Command): string;
  config(cmd: Command): CliConfig;
  /** The hub of the --context given, or of the current context. */
  session(cmd: Command): Promise<HubSession>;
  /** False with --no-progress. */
  progress(cmd: Command): boolean;
}

interface GlobalOptions {
  config?: string;
  context?: string;
  progress?: boolean;
}

export function createCliContext(io: CliIo, api: AdminApi, kinds: readonly ResourceKind[]): CliContext {
  const globals = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();
  const configFile = (cmd: Command) => globals(cmd).config ?? configPath(io.env);
  return {
    io,
    api,
    kinds,
    configFile,
    config: (cmd) => readConfig(configFile(cmd)),
    session: (cmd) => openSession(readConfig(configFile(cmd)), globals(cmd).context),
    progress: (cmd) => globals(cmd).progress !== false,
  };
}

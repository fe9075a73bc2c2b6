import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { UsageError } from "./usage-error.js";

/** One hub the CLI talks to, with the token of the last login. */
export interface HubContext {
  hub: string;
  username?: string;
  token?: string;
  expireTime?: string;
}

/** The config file: named contexts and the one in use. */
export interface CliConfig {
  currentContext?: string;
  contexts: Record<string, HubContext>;
}

/**
 * Where the config lives: $EDGEHUBCTL_CONFIG, else $XDG_CONFIG_HOME/edgehubctl/config.yaml, else
 * ~/.config/edgehubctl/config.yaml.
 */
export function configPath(env: NodeJS.ProcessEnv): string {
  if (env.EDGEHUBCTL_CONFIG) return env.EDGEHUBCTL_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), ".config");
  return path.join(base, "edgehubctl", "config.yaml");
}

export function readConfig(file: string): CliConfig {
  if (!fs.existsSync(file)) return { contexts: {} };
  const parsed = YAML.parse(fs.readFileSync(file, "utf8")) as Partial<CliConfig> | null;
  if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed)))
    throw new UsageError(`Cannot read ${file}: not a config file`);
  return {
    ...(parsed?.currentContext ? { currentContext: parsed.currentContext } : {}),
    contexts: { ...(parsed?.contexts ?? {}) },
  };
}

/** Writes the config readable by its owner only (0600, directory 0700): it holds bearer tokens. */
export function writeConfig(file: string, config: CliConfig): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, YAML.stringify(config), { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

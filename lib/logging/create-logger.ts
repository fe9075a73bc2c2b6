import { pino, type Logger, type LevelWithSilent } from "pino";

/** Paths that must never reach a log line (tokens, passwords, keys). */
const REDACT_PATHS = [
  "password",
  "*.password",
  "token",
  "*.token",
  "joinToken",
  "*.joinToken",
  "authorization",
  "*.authorization",
  "req.headers.authorization",
  "privateKeyPem",
  "*.privateKeyPem",
];

export interface LoggerOptions {
  name: string;
  level: LevelWithSilent;
  /** Pretty output for people; defaults to whether stdout is a TTY. */
  pretty?: boolean;
}

/** Creates the root pino logger of a program: JSON lines, pretty on a TTY, secrets redacted. */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  return pino({
    name: options.name,
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}

export type { Logger };

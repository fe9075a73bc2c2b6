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
  /** Where lines go when not the default stdout: 2 for stderr (a program whose stdout is its screen). */
  destination?: 2;
}

/** Creates the root pino logger of a program: JSON lines, pretty on a TTY, secrets redacted. */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  const fd = options.destination;
  const settings = {
    name: options.name,
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    ...(pretty
      ? { transport: { target: "pino-pretty", options: { colorize: true, ...(fd ? { destination: fd } : {}) } } }
      : {}),
  };
  return fd && !pretty ? pino(settings, pino.destination(fd)) : pino(settings);
}

export type { Logger };

/**
 * What the box shows its user. On a device this is the console the keyboard and monitor are on;
 * here it is stdout, one line per message, prefixed so tests and people can tell it from logs.
 */
export interface Screen {
  show(message: string): void;
}

export function stdoutScreen(): Screen {
  return { show: (message) => process.stdout.write(`[screen] ${message}\n`) };
}

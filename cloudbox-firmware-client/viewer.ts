import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";

/** A console endpoint and its one-time password, as the hub issued it. */
export interface ViewerTicket {
  protocol: "vnc" | "spice";
  host: string;
  port: number;
  password: string;
  expireTime: Date;
  title: string;
}

/**
 * The virt-viewer connection file (remote-viewer's `.vv`, an INI `[virt-viewer]` section). The
 * password is one-time and expires within 60 s; delete-this-file asks the viewer to remove it.
 */
export function vvFile(t: ViewerTicket): string {
  return [
    "[virt-viewer]",
    `type=${t.protocol}`,
    `host=${t.host}`,
    `port=${t.port}`,
    `password=${t.password}`,
    `title=${t.title.replace(/[\r\n]/g, " ")}`,
    "fullscreen=1",
    "delete-this-file=1",
    "",
  ].join("\n");
}

/**
 * The viewer process: launched with the .vv file, it talks to the compute machine directly, so it
 * keeps running when the hub goes away (DESIGN.md: the hub brokers tickets, not pixels).
 */
export class Viewer {
  private child: ChildProcess | undefined;

  constructor(
    private readonly command: string,
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Writes the .vv file (0600: it holds a password) and starts the viewer; resolves with its exit code. */
  launch(t: ViewerTicket): Promise<number | null> {
    const file = path.join(this.dir, "connection.vv");
    fs.writeFileSync(file, vvFile(t), { mode: 0o600 });
    const [cmd, ...args] = this.command.split(/\s+/).filter(Boolean);
    const child = spawn(cmd!, [...args, file], { stdio: "ignore" });
    this.child = child;
    this.log.info({ pid: child.pid, host: t.host, port: t.port, protocol: t.protocol }, "Viewer started");
    return new Promise((resolve) => {
      child.on("error", (err) => {
        this.log.error({ err }, `Cannot start the viewer ${cmd}`);
        resolve(null);
      });
      child.on("exit", (code) => resolve(code));
    });
  }

  stop(): void {
    if (this.running) this.child!.kill("SIGTERM");
  }
}

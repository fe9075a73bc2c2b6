import readline from "node:readline";
import { Writable } from "node:stream";

/**
 * The box's keyboard: one readline over stdin for the whole run, answers queued in order. On a
 * terminal the password is read without echo (the output is muted while it is typed); from a pipe
 * (tests, a kiosk wrapper) lines are read as they come.
 */
export class TerminalInput {
  private readonly rl: readline.Interface;
  private muted = false;
  private closed = false;
  private readonly lines: string[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;

  constructor(
    input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stdout,
  ) {
    const tty = (input as { isTTY?: boolean }).isTTY === true;
    const muted = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (!this.muted) this.output.write(chunk);
        callback();
      },
    });
    this.rl = readline.createInterface({ input, output: muted, terminal: tty });
    this.rl.on("line", (line) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(line);
      else this.lines.push(line);
    });
    this.rl.on("close", () => {
      this.closed = true;
      this.waiting?.(undefined);
      this.waiting = undefined;
    });
  }

  /** The next line after showing `prompt`; undefined when the input is closed. */
  ask(prompt: string, options: { secret?: boolean } = {}): Promise<string | undefined> {
    this.output.write(prompt);
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(this.done(queued, options.secret));
    if (this.closed) return Promise.resolve(undefined);
    this.muted = options.secret === true;
    return new Promise(
      (resolve) => (this.waiting = (line) => resolve(line === undefined ? undefined : this.done(line, options.secret))),
    );
  }

  /** Ends a pending question with no answer (the box restarts); queued lines stay for the next one. */
  interrupt(): void {
    const w = this.waiting;
    this.waiting = undefined;
    this.muted = false;
    w?.(undefined);
  }

  private done(line: string, secret: boolean | undefined): string {
    this.muted = false;
    if (secret) this.output.write("\n");
    return line;
  }

  close(): void {
    this.rl.close();
  }
}

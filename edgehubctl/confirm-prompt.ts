import readline from "node:readline";
import type { CliIo } from "./cli-io.js";

/** Asks a yes/no question on stderr and reads the answer from stdin; anything but y/yes is no. */
export function confirm(io: CliIo, question: string): Promise<boolean> {
  const rl = readline.createInterface({
    input: io.stdin as NodeJS.ReadableStream,
    output: io.stderr as NodeJS.WritableStream,
    terminal: false,
  });
  io.stderr.write(`${question} [y/N] `);
  return new Promise((resolve) => {
    let answered = false;
    rl.once("line", (line) => {
      answered = true;
      rl.close();
      resolve(/^y(es)?$/i.test(line.trim()));
    });
    rl.once("close", () => {
      if (!answered) {
        io.stderr.write("\n");
        resolve(false);
      }
    });
  });
}

import readline from "node:readline";
import { Writable } from "node:stream";
import type { CliIo } from "./cli-io.js";

/**
 * Asks for a password on the terminal without echo: readline in terminal mode (raw input) writing
 * through an output that drops everything while the answer is typed. The prompt goes to stderr.
 */
export function promptPassword(io: CliIo, prompt = "Password: "): Promise<string> {
  let muted = false;
  const out = io.stderr;
  const mutedOutput = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) out.write(chunk);
      callback();
    },
  });
  const rl = readline.createInterface({
    input: io.stdin as NodeJS.ReadableStream,
    output: mutedOutput,
    terminal: true,
  });
  return new Promise((resolve, reject) => {
    rl.on("SIGINT", () => {
      rl.close();
      out.write("\n");
      reject(new Error("Cancelled"));
    });
    rl.on("close", () => reject(new Error("No password given")));
    out.write(prompt);
    muted = true;
    rl.question("", (answer) => {
      muted = false;
      out.write("\n");
      rl.removeAllListeners("close");
      rl.close();
      resolve(answer);
    });
  });
}

/** The first line of stdin, for --password-stdin (a trailing newline is not part of the password). */
export async function readStdinLine(io: CliIo): Promise<string> {
  let text = "";
  for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) {
    text += chunk.toString();
    if (text.includes("\n")) break;
  }
  return text.split(/\r?\n/)[0] ?? "";
}

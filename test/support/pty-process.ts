import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";

/** A program running on a pseudo-terminal (util-linux `script`), driven through its input. */
export interface PtyProcess {
  /** Everything the terminal showed so far (echo included), \r removed. */
  output(): string;
  /** Resolves with the output once it matches `pattern` (rejects if the program exits first). */
  waitFor(pattern: RegExp): Promise<string>;
  /** Types `text` on the terminal. */
  write(text: string): void;
  /** The program's exit code. */
  readonly exited: Promise<number>;
  kill(): void;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// Python's pty.spawn relays stdin and the terminal like `script` does; exits with the child's code.
const PYTHON_PTY = "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))";

/** `script` (util-linux) when it is installed, else Python's pty module; EDGEHUB_TEST_PTY=python forces Python. */
function ptyCommand(argv: readonly string[]): [string, string[]] {
  const haveScript = process.env.EDGEHUB_TEST_PTY !== "python" && spawnSync("script", ["--version"]).status === 0;
  if (haveScript) return ["script", ["-qec", argv.map(quote).join(" "), "/dev/null"]];
  return ["python3", ["-c", PYTHON_PTY, ...argv]];
}

/**
 * Runs `argv` on a pseudo-terminal: `script -qec CMD /dev/null` (or Python's pty module) gives the
 * child a real TTY for stdin, stdout and stderr (native node-pty does not build here). The exit
 * code is the child's.
 */
export function spawnInPty(argv: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string }): PtyProcess {
  const [command, args] = ptyCommand(argv);
  const child: ChildProcessWithoutNullStreams = spawn(command, args, { env: options.env, cwd: options.cwd });
  let text = "";
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString("utf8").replace(/\r/g, "");
    for (const w of [...waiters]) w();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number>((resolve) =>
    child.on("close", (code) => {
      for (const w of [...waiters]) w();
      resolve(code ?? 1);
    }),
  );
  return {
    output: () => text,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(text)) {
            waiters.delete(check);
            resolve(text);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            reject(new Error(`exited before ${pattern}; output:\n${text}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    write: (s) => child.stdin.write(s),
    exited,
    kill: () => child.kill(),
  };
}

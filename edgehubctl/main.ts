import { runCli } from "./program.js";

// The composition root: the real process's streams and environment go in, an exit code comes out.
const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
process.exitCode = code;

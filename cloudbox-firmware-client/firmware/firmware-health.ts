import { spawn } from "node:child_process";

/**
 * The health check of an installed image: its program run as `<slot>/firmware health`, which must
 * exit 0 within the deadline. A real device would run it after rebooting into the slot; the client
 * runs it right after switching the pointer. Anything else (non-zero exit, a signal, a hang past the
 * deadline, a program that cannot start) is unhealthy, with the reason.
 */
export function runHealthCheck(
  program: string,
  env: Record<string, string>,
  deadlineMs: number,
  signal: AbortSignal,
): Promise<{ healthy: boolean; detail: string }> {
  return new Promise((resolve) => {
    let output = "";
    const child = spawn(program, ["health"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const keep = (b: Buffer) => {
      if (output.length < 2048) output += b.toString("utf8");
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    let reason = "";
    const kill = (why: string) => {
      reason ||= why;
      // The whole process group: a health script may have started children.
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => kill(`no healthy answer within ${deadlineMs} ms`), deadlineMs);
    const onAbort = () => kill("the install was aborted");
    signal.addEventListener("abort", onAbort, { once: true });
    child.once("error", (err) => {
      reason ||= `cannot start the health check: ${err.message}`;
    });
    child.once("close", (code, sig) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      const tail = output.trim().slice(-512);
      if (code === 0 && !reason) resolve({ healthy: true, detail: tail });
      else
        resolve({
          healthy: false,
          detail: reason || `health check exited with ${sig ?? `code ${code}`}${tail ? `: ${tail}` : ""}`,
        });
    });
  });
}

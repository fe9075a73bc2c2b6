import { execFile } from "node:child_process";
import { NVIDIA_SMI_FIELDS, parseNvidiaSmiCsv, type NvidiaSmiGpu } from "./parse-nvidia-smi-csv.js";

/** nvidia-smi ran but did not answer: hung driver, crashed driver, timeout. The GPUs may still be there. */
export class NvidiaSmiError extends Error {
  override readonly name = "NvidiaSmiError";
  readonly retryable = true;
}

export interface QueryGpusOptions {
  /** The binary; "nvidia-smi" from PATH by default (tests point it at a fake). */
  command?: string;
  /** A hung driver can block nvidia-smi for minutes; the sampler must not hang with it. */
  timeoutMs?: number;
}

const NO_DEVICES = /no devices were found/i;

/**
 * Runs nvidia-smi and parses its CSV. A host without the binary has no GPUs (CPU servers, PC farm);
 * a host whose nvidia-smi fails or times out raises NvidiaSmiError, so the caller can mark the GPUs
 * it knew about as in error instead of reporting them gone.
 */
export function queryGpus(options: QueryGpusOptions = {}): Promise<NvidiaSmiGpu[]> {
  const command = options.command ?? "nvidia-smi";
  const args = [`--query-gpu=${NVIDIA_SMI_FIELDS.join(",")}`, "--format=csv,noheader,nounits"];
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: options.timeoutMs ?? 10_000, killSignal: "SIGKILL", maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve(parseNvidiaSmiCsv(stdout));
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return resolve([]);
        // nvidia-smi exits non-zero with "No devices were found" when the driver is loaded but no GPU is.
        if (NO_DEVICES.test(`${stdout}\n${stderr}`)) return resolve([]);
        const detail = (err as { killed?: boolean }).killed
          ? `timed out after ${options.timeoutMs ?? 10_000} ms`
          : (stderr || stdout || err.message).trim();
        reject(new NvidiaSmiError(`Cannot query GPUs: ${command}: ${detail}`, { cause: err }));
      },
    );
  });
}

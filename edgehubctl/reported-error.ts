import type { ExitCode } from "./exit-codes.js";

/** A failure already printed (e.g. a batch's summary): main only exits with its code. */
export class ReportedError extends Error {
  override readonly name = "ReportedError";
  constructor(
    readonly exitCode: ExitCode,
    message = "reported",
  ) {
    super(message);
  }
}

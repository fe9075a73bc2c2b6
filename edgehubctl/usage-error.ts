/** The command line or an input file is wrong; nothing was sent. Exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

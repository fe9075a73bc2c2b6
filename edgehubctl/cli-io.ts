/** What the program reads and writes, passed in by main.ts (tests and the real process alike). */
export interface CliIo {
  readonly stdin: NodeJS.ReadStream | NodeJS.ReadableStream;
  readonly stdout: NodeJS.WriteStream | NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

/** True when the stream is a terminal (a person is there). */
export function isTty(
  stream: NodeJS.ReadStream | NodeJS.ReadableStream | NodeJS.WriteStream | NodeJS.WritableStream,
): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

import cliProgress from "cli-progress";
import { ConnectError } from "@connectrpc/connect";
import type { Registry } from "@bufbuild/protobuf";
import { isTty, type CliIo } from "./cli-io.js";
import { codeName, errorReport } from "./error-report.js";
import { EXIT, exitCodeOf, type ExitCode } from "./exit-codes.js";
import { renderTable } from "./resource-table.js";
import { ReportedError } from "./reported-error.js";

/** One piece of a batch, e.g. deleting one user; `run` answers the line to print when it worked. */
export interface BatchItem {
  readonly label: string;
  run(): Promise<string>;
}

export interface BatchOptions {
  readonly io: CliIo;
  readonly registry: Registry;
  /** False with --no-progress; a bar is drawn only on a terminal anyway. */
  readonly progress: boolean;
  readonly concurrency?: number;
}

function shortError(err: unknown): { code: string; message: string } {
  if (err instanceof ConnectError) return { code: codeName(err.code), message: err.rawMessage };
  return { code: "error", message: err instanceof Error ? err.message : String(err) };
}

/**
 * Runs the items a few at a time. One item: its line, or its full error report. Several: a line per
 * item (above a progress bar on a terminal, plain lines otherwise) and a table of the failures at
 * the end. Throws ReportedError with the failures' exit code when any failed.
 */
export async function runBatch(items: readonly BatchItem[], options: BatchOptions): Promise<void> {
  const { io } = options;
  if (items.length === 1) {
    const item = items[0]!;
    try {
      io.stdout.write((await item.run()) + "\n");
    } catch (err) {
      io.stderr.write(errorReport(err, options.registry));
      throw new ReportedError(exitCodeOf(err));
    }
    return;
  }
  const tty = options.progress && isTty(io.stderr);
  const bars = tty
    ? new cliProgress.MultiBar(
        {
          stream: io.stderr as NodeJS.WriteStream,
          format: "{bar} {value}/{total} {label}",
          hideCursor: true,
          clearOnComplete: true,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bar = bars?.create(items.length, 0, { label: "" });
  const failures: { label: string; err: unknown }[] = [];
  const say = (line: string, failed: boolean) => {
    if (bars) bars.log(line + "\n");
    else (failed ? io.stderr : io.stdout).write(line + "\n");
  };
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      bar?.update(done, { label: item.label });
      try {
        say(`✓ ${await item.run()}`, false);
      } catch (err) {
        failures.push({ label: item.label, err });
        const e = shortError(err);
        say(`✗ ${item.label}: ${e.code}: ${e.message}`, true);
      }
      bar?.update(++done, { label: item.label });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, items.length) }, worker));
  // MultiBar prints logged lines on its next redraw: draw once more so none is lost, then stop.
  bars?.update();
  bars?.stop();
  const ok = items.length - failures.length;
  if (failures.length === 0) {
    io.stderr.write(`${ok} of ${items.length} done\n`);
    return;
  }
  io.stderr.write(`${ok} of ${items.length} done, ${failures.length} failed:\n`);
  io.stderr.write(
    renderTable(
      ["ITEM", "CODE", "MESSAGE"],
      failures.map(({ label, err }) => {
        const e = shortError(err);
        return [label, e.code, e.message];
      }),
    ),
  );
  const codes = new Set(failures.map((f) => exitCodeOf(f.err)));
  throw new ReportedError(codes.size === 1 ? ([...codes][0] as ExitCode) : EXIT.FAILURE);
}

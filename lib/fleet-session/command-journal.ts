import fs from "node:fs";
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { CommandResultSchema, type CommandResult } from "../../gen/edgehub/common/v1/command_pb.js";

export type FinishedState = "succeeded" | "failed" | "cancelled";

export interface JournalEntry {
  readonly id: string;
  readonly state: FinishedState;
  readonly result: CommandResult | undefined;
  readonly error: string;
}

/** One line of the file: the result in protobuf JSON. */
interface JournalLine {
  id: string;
  state: FinishedState;
  result: JsonValue | null;
  error: string;
}

const toLine = (e: JournalEntry): string =>
  `${JSON.stringify({ id: e.id, state: e.state, result: e.result ? toJson(CommandResultSchema, e.result) : null, error: e.error } satisfies JournalLine)}\n`;

function fromLine(line: string): JournalEntry {
  const l = JSON.parse(line) as JournalLine;
  return {
    id: l.id,
    state: l.state,
    result: l.result === null ? undefined : fromJson(CommandResultSchema, l.result, { ignoreUnknownFields: true }),
    error: l.error,
  };
}

const KEEP = 10_000;

/**
 * The agent's record of finished commands (an append-only JSON-lines file in the state dir). A
 * command delivered again — the hub lost our report, or restarted — is answered from here instead
 * of being executed twice. Written before the report leaves, so a report is never ahead of it.
 */
export class CommandJournal {
  private readonly entries = new Map<string, JournalEntry>();
  private lines = 0;
  private fd: number | undefined;
  last: string | undefined;

  constructor(private readonly file: string) {
    if (!fs.existsSync(file)) return;
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        const e = fromLine(line);
        this.entries.set(e.id, e);
        this.last = e.id;
        this.lines++;
      } catch {
        // A torn last line after a crash: that command was not reported, so a re-run is correct.
      }
    }
  }

  get(id: string): JournalEntry | undefined {
    return this.entries.get(id);
  }

  record(entry: JournalEntry): void {
    // fdatasync before the report leaves: after a power cut the journal still knows what ran.
    this.fd ??= fs.openSync(this.file, "a");
    fs.writeSync(this.fd, toLine(entry));
    fs.fdatasyncSync(this.fd);
    this.entries.set(entry.id, entry);
    this.last = entry.id;
    if (++this.lines > 2 * KEEP) this.compact();
  }

  /** Keeps the newest entries; the hub expires commands long before this many newer ones finish. */
  private compact(): void {
    const keep = [...this.entries.values()].slice(-KEEP);
    this.entries.clear();
    for (const e of keep) this.entries.set(e.id, e);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, keep.map(toLine).join(""));
    fs.renameSync(tmp, this.file);
    this.lines = keep.length;
  }
}

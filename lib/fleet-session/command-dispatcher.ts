import type { Logger } from "pino";
import type { CommandJournal, FinishedState } from "./command-journal.js";

export interface CommandContext {
  readonly commandId: string;
  /** Aborted on Cancel from the hub, on the deadline, or on agent shutdown. */
  readonly signal: AbortSignal;
  readonly deadline: Date;
}

/** An executor runs one kind of command; it should be idempotent (define-if-absent, resize-to-size). */
export type CommandExecutor = (payload: unknown, ctx: CommandContext) => Promise<unknown>;

export interface IncomingCommand {
  commandId: string;
  kind: string;
  payloadJson: string;
  deadline: Date | undefined;
}

export interface CommandReport {
  commandId: string;
  state: "running" | FinishedState;
  resultJson: string;
  error: string;
}

/**
 * Runs commands from the hub on their executors, at most once each: a command in the journal is
 * answered with its recorded result, a command already running is left to finish and report.
 */
export class CommandDispatcher {
  private readonly running = new Map<string, AbortController>();
  private stopping = false;

  constructor(
    private readonly executors: ReadonlyMap<string, CommandExecutor>,
    private readonly journal: CommandJournal,
    private readonly report: (r: CommandReport) => void,
    private readonly log: Logger,
    private readonly onFinished?: (kind: string, state: FinishedState, seconds: number) => void,
  ) {}

  get lastFinished(): string | undefined {
    return this.journal.last;
  }

  dispatch(cmd: IncomingCommand): void {
    const recorded = this.journal.get(cmd.commandId);
    if (recorded) {
      this.report({ commandId: recorded.id, state: recorded.state, resultJson: recorded.resultJson, error: recorded.error });
      return;
    }
    if (this.running.has(cmd.commandId)) return;
    const controller = new AbortController();
    this.running.set(cmd.commandId, controller);
    this.report({ commandId: cmd.commandId, state: "running", resultJson: "", error: "" });
    void this.execute(cmd, controller);
  }

  cancel(commandId: string, reason: string): void {
    this.running.get(commandId)?.abort(new Error(reason || "cancelled by the hub"));
  }

  /** Agent shutdown: running commands stop unrecorded, so the hub re-delivers them after the restart. */
  abortAll(reason: string): void {
    this.stopping = true;
    for (const c of this.running.values()) c.abort(new Error(reason));
  }

  private async execute(cmd: IncomingCommand, controller: AbortController): Promise<void> {
    const deadline = cmd.deadline ?? new Date(Date.now() + 300_000);
    const timer = setTimeout(() => controller.abort(new Error("deadline passed")), Math.max(0, deadline.getTime() - Date.now()));
    timer.unref();
    const started = performance.now();
    let state: FinishedState;
    let resultJson = "";
    let error = "";
    try {
      const executor = this.executors.get(cmd.kind);
      if (!executor) throw new Error(`No executor for command kind "${cmd.kind}" on this agent`);
      const payload: unknown = cmd.payloadJson ? JSON.parse(cmd.payloadJson) : {};
      const result = await executor(payload, { commandId: cmd.commandId, signal: controller.signal, deadline });
      if (controller.signal.aborted) throw controller.signal.reason;
      state = "succeeded";
      resultJson = JSON.stringify(result ?? null);
    } catch (err) {
      state = controller.signal.aborted ? "cancelled" : "failed";
      error = (err as Error)?.message ?? String(err);
      if (state === "failed") this.log.warn({ command: cmd.commandId, kind: cmd.kind, err }, "Command failed");
    } finally {
      clearTimeout(timer);
    }
    if (this.stopping && controller.signal.aborted) return;
    // Journal first, then report: a lost report is repaired by re-delivery, never by re-execution.
    this.journal.record({ id: cmd.commandId, state, resultJson, error });
    this.onFinished?.(cmd.kind, state, (performance.now() - started) / 1000);
    this.running.delete(cmd.commandId);
    this.report({ commandId: cmd.commandId, state, resultJson, error });
  }
}

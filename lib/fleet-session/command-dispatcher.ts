import type { Logger } from "pino";
import type { CommandPayload, CommandResult } from "../../gen/edgehub/common/v1/command_pb.js";
import type { CommandJournal, FinishedState } from "./command-journal.js";

export interface CommandContext {
  readonly commandId: string;
  /** Aborted on Cancel from the hub, on the deadline, or on agent shutdown. */
  readonly signal: AbortSignal;
  readonly deadline: Date;
}

/** A command kind: the case of CommandPayload's oneof, e.g. "echo" or "collectInventory". */
export type CommandKind = NonNullable<CommandPayload["kind"]["case"]>;
export type PayloadOf<K extends CommandKind> = Extract<CommandPayload["kind"], { case: K }>["value"];

/** An executor runs one kind of command; it should be idempotent (define-if-absent, resize-to-size). */
export type CommandExecutor<K extends CommandKind = CommandKind> = (
  payload: PayloadOf<K>,
  ctx: CommandContext,
) => Promise<CommandResult>;

/** The executors an agent has, one per kind it can run. */
export type CommandExecutors = { readonly [K in CommandKind]?: CommandExecutor<K> };

export interface IncomingCommand {
  commandId: string;
  payload: CommandPayload | undefined;
  deadline: Date | undefined;
}

export interface CommandReport {
  commandId: string;
  state: "running" | FinishedState;
  /** Set when succeeded. */
  result: CommandResult | undefined;
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
    private readonly executors: CommandExecutors,
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
      this.report({ commandId: recorded.id, state: recorded.state, result: recorded.result, error: recorded.error });
      return;
    }
    if (this.running.has(cmd.commandId)) return;
    const controller = new AbortController();
    this.running.set(cmd.commandId, controller);
    this.report({ commandId: cmd.commandId, state: "running", result: undefined, error: "" });
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

  private run(payload: CommandPayload | undefined, ctx: CommandContext): Promise<CommandResult> {
    const kind = payload?.kind;
    if (!kind?.case) throw new Error("The command names no kind (an empty payload, or a kind newer than this agent)");
    const executor = this.executors[kind.case] as CommandExecutor | undefined;
    if (!executor) throw new Error(`No executor for command kind "${kind.case}" on this agent`);
    return executor(kind.value as never, ctx);
  }

  private async execute(cmd: IncomingCommand, controller: AbortController): Promise<void> {
    const deadline = cmd.deadline ?? new Date(Date.now() + 300_000);
    const timer = setTimeout(
      () => controller.abort(new Error("deadline passed")),
      Math.max(0, deadline.getTime() - Date.now()),
    );
    timer.unref();
    const started = performance.now();
    const kind = cmd.payload?.kind.case ?? "none";
    let state: FinishedState;
    let result: CommandResult | undefined;
    let error = "";
    try {
      result = await this.run(cmd.payload, { commandId: cmd.commandId, signal: controller.signal, deadline });
      if (controller.signal.aborted) throw controller.signal.reason;
      state = "succeeded";
    } catch (err) {
      result = undefined;
      state = controller.signal.aborted ? "cancelled" : "failed";
      error = (err as Error)?.message ?? String(err);
      if (state === "failed") this.log.warn({ command: cmd.commandId, kind, err }, "Command failed");
    } finally {
      clearTimeout(timer);
    }
    if (this.stopping && controller.signal.aborted) return;
    // Journal first, then report: a lost report is repaired by re-delivery, never by re-execution.
    this.journal.record({ id: cmd.commandId, state, result, error });
    this.onFinished?.(kind, state, (performance.now() - started) / 1000);
    this.running.delete(cmd.commandId);
    this.report({ commandId: cmd.commandId, state, result, error });
  }
}

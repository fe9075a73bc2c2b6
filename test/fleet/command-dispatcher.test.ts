import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { create } from "@bufbuild/protobuf";
import {
  CommandPayloadSchema,
  CommandResultSchema,
  type CommandPayload,
} from "../../gen/edgehub/common/v1/command_pb.js";
import {
  CommandDispatcher,
  type CommandExecutor,
  type CommandReport,
} from "../../lib/fleet-session/command-dispatcher.js";
import { CommandJournal } from "../../lib/fleet-session/command-journal.js";
import { waitFor } from "./support/agent-process.js";

describe("command dispatcher and journal (agent side)", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-journal-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Echo is the kind with an executor here; collect_inventory has none.
  function setup(executor: CommandExecutor<"echo">) {
    const reports: CommandReport[] = [];
    const journal = new CommandJournal(path.join(dir, "journal.jsonl"));
    const d = new CommandDispatcher({ echo: executor }, journal, (r) => reports.push(r), pino({ level: "silent" }));
    return { d, reports, journal };
  }
  const payloads: Record<string, CommandPayload> = {
    echo: create(CommandPayloadSchema, { kind: { case: "echo", value: { message: "hi" } } }),
    collectInventory: create(CommandPayloadSchema, { kind: { case: "collectInventory", value: {} } }),
    empty: create(CommandPayloadSchema),
  };
  const cmd = (id: string, kind = "echo") => ({
    commandId: id,
    payload: payloads[kind],
    deadline: new Date(Date.now() + 60_000),
  });
  const echoed = (message: string) => create(CommandResultSchema, { kind: { case: "echo", value: { message } } });

  it("runs a command once however often it is delivered, and answers re-deliveries from the journal", async () => {
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { d, reports } = setup(async () => {
      runs++;
      await gate;
      return echoed("ok");
    });
    d.dispatch(cmd("a"));
    d.dispatch(cmd("a")); // re-delivered while running: ignored
    release();
    await waitFor("a to finish", () => reports.some((r) => r.state === "succeeded"));
    d.dispatch(cmd("a")); // re-delivered after finishing: recorded result
    expect(runs).to.equal(1);
    expect(reports.map((r) => r.state)).to.deep.equal(["running", "succeeded", "succeeded"]);
    expect(reports[2]!.result).to.deep.equal(echoed("ok"));
    // A new process reads the same journal.
    const again = setup(async () => {
      runs++;
      return echoed("again");
    });
    again.d.dispatch(cmd("a"));
    expect(runs).to.equal(1);
    expect(again.reports[0]).to.include({ commandId: "a", state: "succeeded" });
    expect(again.reports[0]!.result).to.deep.equal(echoed("ok"));
  });

  it("reports failures and unknown kinds, cancels on request, and leaves work interrupted by shutdown unrecorded", async () => {
    const { d, reports, journal } = setup(
      (_p, ctx) =>
        new Promise((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))),
    );
    d.dispatch(cmd("x", "collectInventory"));
    await waitFor("x to fail", () => reports.find((r) => r.commandId === "x" && r.state === "failed"));
    expect(reports.find((r) => r.commandId === "x" && r.state === "failed")!.error).to.contain(
      'No executor for command kind "collectInventory"',
    );
    d.dispatch(cmd("y", "empty"));
    await waitFor("y to fail", () => reports.find((r) => r.commandId === "y" && r.state === "failed"));
    expect(reports.find((r) => r.commandId === "y" && r.state === "failed")!.error).to.contain("names no kind");
    d.dispatch(cmd("c"));
    d.cancel("c", "operator said so");
    await waitFor("c cancelled", () => reports.find((r) => r.commandId === "c" && r.state === "cancelled"));
    d.dispatch(cmd("s"));
    d.abortAll("agent stopping");
    await new Promise((r) => setTimeout(r, 20));
    expect(journal.get("s")).to.equal(undefined);
    expect(reports.filter((r) => r.commandId === "s").map((r) => r.state)).to.deep.equal(["running"]);
  });
});

import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { CommandDispatcher, type CommandExecutor, type CommandReport } from "../../lib/fleet-session/command-dispatcher.js";
import { CommandJournal } from "../../lib/fleet-session/command-journal.js";
import { canTransition, COMMAND_STATES, isFinal } from "../../hub/fleet/command-lifecycle.js";
import { waitFor } from "./support/agent-process.js";

describe("command dispatcher and journal (agent side)", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-journal-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function setup(executor: CommandExecutor) {
    const reports: CommandReport[] = [];
    const journal = new CommandJournal(path.join(dir, "journal.jsonl"));
    const d = new CommandDispatcher(new Map([["work", executor]]), journal, (r) => reports.push(r), pino({ level: "silent" }));
    return { d, reports, journal };
  }
  const cmd = (id: string, kind = "work") => ({ commandId: id, kind, payloadJson: "{}", deadline: new Date(Date.now() + 60_000) });

  it("runs a command once however often it is delivered, and answers re-deliveries from the journal", async () => {
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { d, reports } = setup(async () => {
      runs++;
      await gate;
      return { ok: true };
    });
    d.dispatch(cmd("a"));
    d.dispatch(cmd("a")); // re-delivered while running: ignored
    release();
    await waitFor("a to finish", () => reports.some((r) => r.state === "succeeded"));
    d.dispatch(cmd("a")); // re-delivered after finishing: recorded result
    expect(runs).to.equal(1);
    expect(reports.map((r) => r.state)).to.deep.equal(["running", "succeeded", "succeeded"]);
    expect(reports[2]!.resultJson).to.equal('{"ok":true}');
    // A new process reads the same journal.
    const again = setup(async () => {
      runs++;
      return {};
    });
    again.d.dispatch(cmd("a"));
    expect(runs).to.equal(1);
    expect(again.reports[0]).to.include({ commandId: "a", state: "succeeded" });
  });

  it("reports failures and unknown kinds, cancels on request, and leaves work interrupted by shutdown unrecorded", async () => {
    const { d, reports, journal } = setup((_p, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))));
    d.dispatch(cmd("x", "nope"));
    await waitFor("x to fail", () => reports.find((r) => r.commandId === "x" && r.state === "failed"));
    expect(reports.find((r) => r.commandId === "x" && r.state === "failed")!.error).to.contain('No executor for command kind "nope"');
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

describe("command lifecycle (hub side)", () => {
  it("final states absorb and queued cannot jump to a result", () => {
    for (const from of COMMAND_STATES) {
      if (isFinal(from)) for (const to of COMMAND_STATES) expect(canTransition(from, to), `${from}→${to}`).to.equal(false);
    }
    expect(canTransition("queued", "succeeded")).to.equal(false);
    expect(canTransition("queued", "delivered")).to.equal(true);
    expect(canTransition("delivered", "succeeded")).to.equal(true);
    expect(canTransition("running", "delivered")).to.equal(false);
  });
});

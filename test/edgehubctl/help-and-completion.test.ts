import { expect } from "chai";
import { PassThrough, Readable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { QuotaDimension, QuotaExceededSchema, QuotaHolderType } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { loadAdminApi } from "../../edgehubctl/admin-services.js";
import { errorReport } from "../../edgehubctl/error-report.js";
import { EXIT, exitCodeOf } from "../../edgehubctl/exit-codes.js";
import { allCommands, buildProgram } from "../../edgehubctl/program.js";
import { UsageError } from "../../edgehubctl/usage-error.js";
import { createCtlHome, type CtlHome } from "../support/edgehubctl-process.js";

describe("edgehubctl: help, completion, error report, exit codes", function () {
  // Every run of the binary starts Node with tsx (about 1.5 s of CPU): on a loaded machine a test
  // running several can pass mocha\'s default 60 s, so these tests get more room (no timing asserted).
  this.timeout(180_000);
  let home: CtlHome;
  before(() => {
    home = createCtlHome();
  });
  after(() => home?.remove());

  it("has --help with examples on every command", async () => {
    const io = { stdin: Readable.from([]), stdout: new PassThrough(), stderr: new PassThrough(), env: home.env };
    const { program } = await buildProgram(io);
    const missing: string[] = [];
    const commands = allCommands(program);
    for (const cmd of commands) {
      let text = "";
      cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      cmd.outputHelp();
      if (!/\nExamples:\n {2}\$ edgehubctl|\nExamples:\n {2}\$ source/.test(text)) missing.push(cmd.name());
    }
    expect(commands.length).to.be.greaterThan(60);
    expect(missing).to.deep.equal([]);
  });

  it("prints bash and zsh completion that ask the program, which answers from the kinds", async () => {
    // The binary for the script and for what the script runs; zsh and a bad shell in process.
    const [bash, kinds, verbs, zsh, bad] = await Promise.all([
      home.run(["completion", "bash"]),
      home.run(["__complete", "--", "get", "us"]),
      home.run(["__complete", "--", "agent", ""]),
      home.runInProcess(["completion", "zsh"]),
      home.runInProcess(["completion", "fish"]),
    ]);
    const flags = await home.runInProcess(["__complete", "--", "get", "users", "--st"]);
    expect(bash.stdout)
      .to.include("complete -o default -F _edgehubctl edgehubctl")
      .and.include("edgehubctl __complete --");
    expect(zsh.stdout)
      .to.match(/^#compdef edgehubctl/)
      .and.include("compdef _edgehubctl edgehubctl");
    expect(kinds.stdout.split("\n")).to.include.members(["user", "users", "user-group"]);
    expect(verbs.stdout.split("\n")).to.include.members(["get", "describe", "revoke"]);
    expect(flags.stdout.split("\n")).to.include("--status");
    expect(bad.code).to.equal(EXIT.USAGE);
  });

  it("reports quota shortfalls and reasons from the error details, one per line", async () => {
    const { registry } = await loadAdminApi();
    const err = new ConnectError("Cannot create instance: quota exceeded", Code.ResourceExhausted, undefined, [
      { desc: ErrorInfoSchema, value: { reason: "QUOTA_EXCEEDED", domain: "edgehub.io" } },
      {
        desc: QuotaExceededSchema,
        value: {
          dimensions: [
            {
              dimension: QuotaDimension.CPU_CORES,
              used: 6,
              requested: 4,
              limit: 8,
              holderType: QuotaHolderType.TENANT,
              holderId: "t-1",
            },
            {
              dimension: QuotaDimension.MEMORY_GB,
              used: 30,
              requested: 4,
              limit: 32,
              holderType: QuotaHolderType.TENANT,
              holderId: "t-1",
            },
          ],
        },
      },
    ]);
    const text = errorReport(err, registry);
    expect(text.split("\n")).to.deep.equal([
      "Error: resource_exhausted: Cannot create instance: quota exceeded",
      "  reason: QUOTA_EXCEEDED",
      "  QuotaExceeded: dimension=QUOTA_DIMENSION_CPU_CORES used=6 requested=4 limit=8 holderType=QUOTA_HOLDER_TYPE_TENANT holderId=t-1",
      "  QuotaExceeded: dimension=QUOTA_DIMENSION_MEMORY_GB used=30 requested=4 limit=32 holderType=QUOTA_HOLDER_TYPE_TENANT holderId=t-1",
      "",
    ]);
    expect(exitCodeOf(err)).to.equal(EXIT.QUOTA);
  });

  it("maps error classes to documented exit codes", () => {
    const cases: [unknown, number][] = [
      [new UsageError("bad flag"), 2],
      [new ConnectError("x", Code.InvalidArgument), 2],
      [new ConnectError("x", Code.NotFound), 3],
      [new ConnectError("x", Code.PermissionDenied), 4],
      [new ConnectError("x", Code.Unauthenticated), 4],
      [new ConnectError("x", Code.AlreadyExists), 5],
      [new ConnectError("x", Code.Aborted), 5],
      [new ConnectError("x", Code.FailedPrecondition), 5],
      [new ConnectError("x", Code.Unavailable), 6],
      [new ConnectError("x", Code.ResourceExhausted), 7],
      [new ConnectError("x", Code.Internal), 1],
    ];
    for (const [err, code] of cases) expect(exitCodeOf(err), String(err)).to.equal(code);
  });
});

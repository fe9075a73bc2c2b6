import { Command, CommanderError } from "commander";
import { loadAdminApi } from "./admin-services.js";
import { createCliContext } from "./cli-context.js";
import type { CliIo } from "./cli-io.js";
import { withExamples } from "./command-examples.js";
import { callCommand } from "./commands/call-command.js";
import { completionCommands } from "./commands/completion-command.js";
import { configCommand } from "./commands/config-command.js";
import { imageUploadCommand } from "./commands/image-upload-command.js";
import { kindCommand, verbFirstCommand } from "./commands/kind-command.js";
import { loginCommand } from "./commands/login-command.js";
import { logoutCommand } from "./commands/logout-command.js";
import { whoamiCommand } from "./commands/whoami-command.js";
import { errorReport } from "./error-report.js";
import { EXIT, exitCodeOf, type ExitCode } from "./exit-codes.js";
import { ReportedError } from "./reported-error.js";
import { resourceKinds } from "./resource-kinds.js";

/** Every command below `cmd`, itself included. */
export function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

/** The whole command tree, from the admin API's descriptors plus the hand-written commands. */
export async function buildProgram(io: CliIo): Promise<{ program: Command; ctx: ReturnType<typeof createCliContext> }> {
  const api = await loadAdminApi();
  const kinds = resourceKinds(api.services);
  const ctx = createCliContext(io, api, kinds);
  const program = new Command("edgehubctl")
    .description("Admin CLI of an edgehub hub: log in once, then list and act on every resource of the admin API")
    .option("--context <name>", "use this context instead of the current one")
    .option(
      "--config <file>",
      "config file (default: $EDGEHUBCTL_CONFIG, else $XDG_CONFIG_HOME/edgehubctl/config.yaml)",
    )
    .option("--no-progress", "plain output for batches, no progress bar");
  withExamples(program, [
    "edgehubctl login --hub http://localhost:8080",
    "edgehubctl get users",
    "edgehubctl get agents -o wide --watch",
    "edgehubctl image deprecate 0192c3a4-…",
    "edgehubctl delete user ID1 ID2 --yes",
  ]);
  program
    .addCommand(loginCommand(ctx))
    .addCommand(logoutCommand(ctx))
    .addCommand(whoamiCommand(ctx))
    .addCommand(configCommand(ctx));
  program.addCommand(verbFirstCommand("get", ctx, "Show resources as a table (or -o json|yaml|wide)"));
  program.addCommand(verbFirstCommand("describe", ctx, "Show one resource in full"));
  program.addCommand(verbFirstCommand("create", ctx, "Create a resource from flags or -f file"));
  program.addCommand(verbFirstCommand("update", ctx, "Change a resource from flags or -f file"));
  program.addCommand(verbFirstCommand("delete", ctx, "Delete resources (asks unless --yes)"));
  for (const kind of kinds) program.addCommand(kindCommand(kind, ctx));
  program.commands.find((c) => c.name() === "image")?.addCommand(imageUploadCommand(ctx));
  program.addCommand(callCommand(ctx));
  const [completion, complete] = completionCommands(ctx, program);
  program.addCommand(completion!).addCommand(complete!, { hidden: true });
  for (const cmd of allCommands(program)) {
    cmd
      .exitOverride()
      .showHelpAfterError("(add --help for usage and examples)")
      .configureOutput({
        writeOut: (s) => io.stdout.write(s),
        writeErr: (s) => io.stderr.write(s),
      });
  }
  return { program, ctx };
}

/** Runs one command line (the words after the program name) and answers the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const { program, ctx } = await buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof ReportedError) return err.exitCode;
    if (err instanceof CommanderError) return exitCodeOf(err);
    io.stderr.write(errorReport(err, ctx.api.registry));
    return exitCodeOf(err);
  }
}

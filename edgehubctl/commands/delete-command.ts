import { Command } from "commander";
import { runBatch } from "../batch-runner.js";
import { callUnary } from "../call-unary.js";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { confirm } from "../confirm-prompt.js";
import { EXIT } from "../exit-codes.js";
import { requestMessage } from "../request-message.js";
import { ReportedError } from "../reported-error.js";
import type { ResourceKind } from "../resource-kinds.js";

/**
 * `delete <kind> <ids...>`: asks first (unless --yes), then deletes each id with a progress line
 * per item and a table of the failures.
 */
export function deleteCommand(kind: ResourceKind, ctx: CliContext, name: string, aliases: readonly string[]): Command {
  const method = kind.delete!;
  const cmd = new Command(name)
    .aliases([...aliases])
    .description(`Delete ${kind.name} resources (${kind.service.name}.${method.name})`)
    .argument("<ids...>", `${kind.name} ids`)
    .option("-y, --yes", "do not ask");
  withExamples(cmd, [`edgehubctl delete ${kind.name} 0192c3a4-…`, `edgehubctl delete ${kind.name} ID1 ID2 ID3 --yes`]);
  cmd.action(async (ids: string[], opts: { yes?: boolean }) => {
    const session = await ctx.session(cmd);
    if (!opts.yes) {
      const what =
        ids.length === 1
          ? `${kind.name} ${ids[0]}`
          : `${ids.length} ${kind.aliases[0] ?? kind.name}: ${ids.join(", ")}`;
      if (!(await confirm(ctx.io, `Delete ${what}?`))) {
        ctx.io.stderr.write("Nothing deleted\n");
        throw new ReportedError(EXIT.FAILURE);
      }
    }
    await runBatch(
      ids.map((id) => ({
        label: `${kind.name} ${id}`,
        async run() {
          await callUnary(session, kind.service, method, requestMessage(method.input, { id }, ctx.api.registry));
          return `deleted ${kind.name} ${id}`;
        },
      })),
      { io: ctx.io, registry: ctx.api.registry, progress: ctx.progress(cmd) },
    );
  });
  return cmd;
}

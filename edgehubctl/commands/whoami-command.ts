import { Command, Option } from "commander";
import { AuthService, PrincipalSchema, WhoAmIResponseSchema } from "../../gen/edgehub/admin/v1/auth_pb.js";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { OUTPUT_FORMATS, parseOutputFormat, renderMessages } from "../output-format.js";

/** `whoami`: the principal behind the current context's token (AuthService.WhoAmI). */
export function whoamiCommand(ctx: CliContext): Command {
  const cmd = new Command("whoami")
    .description("Show who the current context is logged in as")
    .addOption(new Option("-o, --output <format>", "output format").choices([...OUTPUT_FORMATS]).default("table"));
  withExamples(cmd, ["edgehubctl whoami", "edgehubctl whoami -o json"]);
  cmd.action(async (opts: { output: string }) => {
    const format = parseOutputFormat(opts.output);
    const session = await ctx.session(cmd);
    const res = await session.client(AuthService).whoAmI({});
    if (format === "json" || format === "yaml") {
      ctx.io.stdout.write(renderMessages(WhoAmIResponseSchema, [res], format, ctx.api.registry, true));
      return;
    }
    const p = res.principal;
    const rows = renderMessages(PrincipalSchema, p ? [p] : [], format, ctx.api.registry, true);
    ctx.io.stdout.write(`Context: ${session.contextName} (${session.context.hub})\n${rows}`);
  });
  return cmd;
}

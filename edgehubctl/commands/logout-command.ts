import { Command } from "commander";
import { Code, ConnectError } from "@connectrpc/connect";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { writeConfig } from "../config-file.js";

/** `logout`: revokes the token on the hub (AuthService.Logout) and forgets it; the context stays. */
export function logoutCommand(ctx: CliContext): Command {
  const cmd = new Command("logout").description("Revoke the token of the current context and forget it");
  withExamples(cmd, ["edgehubctl logout", "edgehubctl logout --context site-b"]);
  cmd.action(async () => {
    const session = await ctx.session(cmd);
    try {
      await session.client(AuthService).logout({});
    } catch (err) {
      // A token the hub no longer accepts is as good as revoked; anything else is reported.
      if (!(err instanceof ConnectError && err.code === Code.Unauthenticated)) throw err;
    }
    const config = ctx.config(cmd);
    const context = config.contexts[session.contextName];
    if (context) {
      delete context.token;
      delete context.expireTime;
    }
    writeConfig(ctx.configFile(cmd), config);
    ctx.io.stdout.write(`Logged out of ${session.context.hub} (context "${session.contextName}")\n`);
  });
  return cmd;
}

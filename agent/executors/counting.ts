import fs from "node:fs";
import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";

/**
 * Test only (EDGEHUB_AGENT_TEST_COUNT_FILE): echo that appends the command id to a file on every
 * execution, so a test can prove each command ran exactly once across hub crashes and re-deliveries.
 */
export function countingExecutor(file: string, echo: CommandExecutor<"echo">): CommandExecutor<"echo"> {
  return async (payload, ctx) => {
    fs.appendFileSync(file, `${ctx.commandId}\n`);
    return echo(payload, ctx);
  };
}

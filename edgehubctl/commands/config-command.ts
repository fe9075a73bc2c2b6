import { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { writeConfig } from "../config-file.js";
import { renderTable } from "../resource-table.js";
import { UsageError } from "../usage-error.js";

/** `config get-contexts|current-context|use-context|delete-context`: the named hubs of the config file. */
export function configCommand(ctx: CliContext): Command {
  const cmd = new Command("config").description("Named contexts (one per hub) in the config file");
  withExamples(cmd, ["edgehubctl config get-contexts", "edgehubctl config use-context site-b"]);

  const list = new Command("get-contexts").description("List the contexts; * marks the current one");
  withExamples(list, ["edgehubctl config get-contexts"]);
  list.action(() => {
    const config = ctx.config(list);
    const rows = Object.entries(config.contexts).map(([name, c]) => [
      name === config.currentContext ? "*" : "",
      name,
      c.hub,
      c.username ?? "",
      c.token ? "yes" : "no",
    ]);
    ctx.io.stdout.write(renderTable(["CURRENT", "NAME", "HUB", "USER", "LOGGED IN"], rows));
  });

  const current = new Command("current-context").description("Print the name of the current context");
  withExamples(current, ["edgehubctl config current-context"]);
  current.action(() => {
    const name = ctx.config(current).currentContext;
    if (!name) throw new UsageError("No current context: run edgehubctl login --hub URL");
    ctx.io.stdout.write(`${name}\n`);
  });

  const use = new Command("use-context")
    .description("Make a context the current one")
    .argument("<name>", "context name");
  withExamples(use, ["edgehubctl config use-context localhost:8080"]);
  use.action((name: string) => {
    const config = ctx.config(use);
    if (!config.contexts[name])
      throw new UsageError(`No context "${name}" (have: ${Object.keys(config.contexts).join(", ") || "none"})`);
    config.currentContext = name;
    writeConfig(ctx.configFile(use), config);
    ctx.io.stdout.write(`Switched to context "${name}"\n`);
  });

  const del = new Command("delete-context")
    .description("Forget a context (its token is not revoked: logout first)")
    .argument("<name>", "context name");
  withExamples(del, ["edgehubctl config delete-context site-b"]);
  del.action((name: string) => {
    const config = ctx.config(del);
    if (!config.contexts[name]) throw new UsageError(`No context "${name}"`);
    delete config.contexts[name];
    if (config.currentContext === name) delete config.currentContext;
    writeConfig(ctx.configFile(del), config);
    ctx.io.stdout.write(`Deleted context "${name}"\n`);
  });

  return cmd.addCommand(list).addCommand(current).addCommand(use).addCommand(del);
}

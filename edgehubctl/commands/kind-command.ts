import { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import type { ResourceKind } from "../resource-kinds.js";
import { createCommand } from "./create-command.js";
import { deleteCommand } from "./delete-command.js";
import { describeCommand } from "./describe-command.js";
import { getCommand } from "./get-command.js";
import { updateCommand } from "./update-command.js";
import { verbCommand } from "./verb-command.js";

/** `edgehubctl <kind> <verb>`: the same commands grouped by kind, plus the kind's own verbs. */
export function kindCommand(kind: ResourceKind, ctx: CliContext): Command {
  const cmd = new Command(kind.name)
    .aliases([...kind.aliases])
    .description(`${kind.resource.name} resources (${kind.service.name})`);
  if (kind.get || kind.list) {
    cmd.addCommand(getCommand(kind, ctx, "get", ["list", "ls"]));
    if (kind.get) cmd.addCommand(describeCommand(kind, ctx, "describe", []));
  }
  if (kind.create) cmd.addCommand(createCommand(kind, ctx, "create", []));
  if (kind.update) cmd.addCommand(updateCommand(kind, ctx, "update", []));
  if (kind.delete) cmd.addCommand(deleteCommand(kind, ctx, "delete", ["rm"]));
  for (const verb of kind.verbs) cmd.addCommand(verbCommand(kind, verb, ctx));
  const first = cmd.commands[0]?.name() ?? "get";
  return withExamples(cmd, [
    `edgehubctl ${kind.name} ${first} --help`,
    ...kind.verbs
      .slice(0, 2)
      .map((v) => `edgehubctl ${kind.aliases.find((a) => !a.endsWith("s")) ?? kind.name} ${v.name} …`),
  ]);
}

type Builder = (kind: ResourceKind, ctx: CliContext, name: string, aliases: readonly string[]) => Command;

/** `edgehubctl get|describe|create|update|delete <kind>`: one subcommand per kind that has the method. */
export function verbFirstCommand(
  verb: "get" | "describe" | "create" | "update" | "delete",
  ctx: CliContext,
  description: string,
): Command {
  const builders: Record<typeof verb, { has: (k: ResourceKind) => boolean; build: Builder }> = {
    get: { has: (k) => Boolean(k.get ?? k.list), build: getCommand },
    describe: { has: (k) => Boolean(k.get), build: describeCommand },
    create: { has: (k) => Boolean(k.create), build: createCommand },
    update: { has: (k) => Boolean(k.update), build: updateCommand },
    delete: { has: (k) => Boolean(k.delete), build: deleteCommand },
  };
  const { has, build } = builders[verb];
  const cmd = new Command(verb).description(description);
  const kinds = ctx.kinds.filter(has);
  for (const kind of kinds) cmd.addCommand(build(kind, ctx, kind.name, kind.aliases));
  return withExamples(
    cmd,
    kinds.slice(0, 3).map((k) => `edgehubctl ${verb} ${k.aliases[0] ?? k.name}${verb === "get" ? "" : " …"}`),
  );
}

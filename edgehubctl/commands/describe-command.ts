import { Command } from "commander";
import YAML from "yaml";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { addFieldOptions, fieldValues } from "../field-options.js";
import { messageJson } from "../output-format.js";
import { resourceReader } from "../resource-reader.js";
import type { ResourceKind } from "../resource-kinds.js";

/** `describe <kind> <id>`: every field (defaults too) as YAML, then the verbs the kind has. */
export function describeCommand(
  kind: ResourceKind,
  ctx: CliContext,
  name: string,
  aliases: readonly string[],
): Command {
  const hasId = kind.get?.input.fields.some((f) => f.name === "id") ?? false;
  const cmd = new Command(name)
    .aliases([...aliases])
    .description(`Show one ${kind.name} in full, and what can be done with it`);
  if (hasId) cmd.argument("<id>", `${kind.name} id`);
  const keys = kind.get ? addFieldOptions(cmd, kind.get.input, new Set(["id"])) : [];
  withExamples(cmd, [
    `edgehubctl describe ${kind.name} ${hasId ? "0192c3a4-…" : keys.map((k) => `${k.flags[0]} …`).join(" ")}`.trimEnd(),
  ]);
  cmd.action(async (...args: unknown[]) => {
    const id = hasId ? (args[0] as string) : undefined;
    const opts = (hasId ? args[1] : args[0]) as Record<string, unknown>;
    const reader = resourceReader(await ctx.session(cmd), kind, ctx.api.registry);
    const found = await reader.get(id, fieldValues(keys, opts).json);
    ctx.io.stdout.write(
      YAML.stringify({ kind: kind.name, ...messageJson(kind.resource, found, ctx.api.registry, true) }),
    );
    const verbs = kind.verbs.map((v) => v.name);
    if (verbs.length > 0) ctx.io.stdout.write(`\nVerbs: edgehubctl ${kind.name} ${verbs.join("|")}\n`);
  });
  return cmd;
}

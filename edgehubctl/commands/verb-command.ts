import { Command, Option } from "commander";
import YAML from "yaml";
import { runBatch } from "../batch-runner.js";
import { callUnary } from "../call-unary.js";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { addFieldOptions, fieldValues } from "../field-options.js";
import { OUTPUT_FORMATS, messageJson, parseOutputFormat, renderMessages } from "../output-format.js";
import { requestMessage } from "../request-message.js";
import { resourcesIn } from "../resource-fields.js";
import type { KindVerb, ResourceKind } from "../resource-kinds.js";
import { shortEnumName } from "../enum-value.js";

/** The status or state of a resource as a short word, for the per-item line of a batch. */
function stateOf(kind: ResourceKind, json: Record<string, unknown>): string {
  const f = kind.resource.fields.find((x) => (x.name === "status" || x.name === "state") && x.fieldKind === "enum");
  const v = f ? json[f.jsonName] : undefined;
  return f?.fieldKind === "enum" && typeof v === "string" ? `: ${shortEnumName(f.enum, v)}` : "";
}

/**
 * `<kind> <verb> [ids...]` for every method of the kind beyond Get/List/Create/Update/Delete
 * (DeprecateImage → `image deprecate`, RevokeAgent → `agent revoke`): ids run as a batch with
 * progress; the request's other fields are flags.
 */
export function verbCommand(kind: ResourceKind, verb: KindVerb, ctx: CliContext): Command {
  const { method } = verb;
  const takesId = method.input.fields.some((f) => f.name === "id");
  const cmd = new Command(verb.name)
    .description(`${method.name} (${kind.service.name})`)
    .addOption(new Option("-o, --output <format>", "output format").choices([...OUTPUT_FORMATS]).default("table"));
  if (takesId) cmd.argument("<ids...>", `${kind.name} ids (several make a batch)`);
  const options = addFieldOptions(cmd, method.input, new Set(takesId ? ["id"] : []));
  withExamples(cmd, [
    `edgehubctl ${kind.name} ${verb.name} ${takesId ? "ID1 ID2 " : ""}${options
      .slice(0, 2)
      .map((o) => `${o.flags[0]} …`)
      .join(" ")}`.trimEnd(),
  ]);
  cmd.action(async (...args: unknown[]) => {
    const ids = takesId ? (args[0] as string[]) : [undefined];
    const opts = (takesId ? args[1] : args[0]) as Record<string, unknown> & { output: string };
    const format = parseOutputFormat(opts.output);
    const session = await ctx.session(cmd);
    const { json } = fieldValues(options, opts);
    const call = (id: string | undefined) =>
      callUnary(
        session,
        kind.service,
        method,
        requestMessage(method.input, id === undefined ? json : { ...json, id }, ctx.api.registry),
      );
    const render = (response: Awaited<ReturnType<typeof call>>) => {
      const found = resourcesIn(response, method.output, kind.resource);
      if (found.length > 0) return renderMessages(kind.resource, found, format, ctx.api.registry, found.length === 1);
      const schema = method.output;
      const body = messageJson(schema, response, ctx.api.registry, true);
      return format === "json" ? JSON.stringify(body, null, 2) + "\n" : YAML.stringify(body);
    };
    if (ids.length === 1) {
      ctx.io.stdout.write(render(await call(ids[0])));
      return;
    }
    await runBatch(
      ids.map((id) => ({
        label: `${kind.name} ${id}`,
        async run() {
          const response = await call(id);
          const found = resourcesIn(response, method.output, kind.resource)[0];
          const state = found ? stateOf(kind, messageJson(kind.resource, found, ctx.api.registry)) : "";
          return `${verb.name} ${kind.name} ${id}${state}`;
        },
      })),
      { io: ctx.io, registry: ctx.api.registry, progress: ctx.progress(cmd) },
    );
  });
  return cmd;
}

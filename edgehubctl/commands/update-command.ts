import { Command, Option } from "commander";
import type { JsonValue } from "@bufbuild/protobuf";
import { callUnary } from "../call-unary.js";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { addFieldOptions, fieldValues } from "../field-options.js";
import { readInputDocuments, type JsonObject } from "../input-documents.js";
import { OUTPUT_FORMATS, messageJson, parseOutputFormat, renderMessages } from "../output-format.js";
import { requestMessage } from "../request-message.js";
import { OUTPUT_ONLY, jsonKeyOf, resourcesIn, wrapperField } from "../resource-fields.js";
import { resourceReader } from "../resource-reader.js";
import type { ResourceKind } from "../resource-kinds.js";
import { UsageError } from "../usage-error.js";

interface UpdateOptions {
  file?: string;
  output: string;
  [field: string]: unknown;
}

/** Top-level fields of `doc` that differ from `current` (output-only fields never count). */
function changedPaths(kind: ResourceKind, doc: JsonObject, current: JsonObject | undefined): string[] {
  return kind.resource.fields
    .filter((f) => !OUTPUT_ONLY.test(f.name))
    .filter((f) => {
      const key = jsonKeyOf(doc, f);
      if (key === undefined) return false;
      return current === undefined || JSON.stringify(doc[key]) !== JSON.stringify(current[f.jsonName]);
    })
    .map((f) => f.name);
}

/**
 * `update <kind> [id]`: flags change the fields they name (update_mask = those fields); `-f file`
 * changes the fields that differ from the hub's copy, and its etag (when present) refuses the update
 * if someone changed the resource since it was read (aborted, exit 5).
 */
export function updateCommand(kind: ResourceKind, ctx: CliContext, name: string, aliases: readonly string[]): Command {
  const method = kind.update!;
  const wrapper = wrapperField(method.input, kind.resource);
  if (!wrapper) throw new Error(`${method.name} does not carry a ${kind.resource.name}`);
  const hasId = kind.resource.fields.some((f) => f.name === "id");
  const cmd = new Command(name)
    .aliases([...aliases])
    .description(`Change one ${kind.name} (${kind.service.name}.${method.name} with an update mask)`)
    .option("-f, --file <file>", "YAML or JSON as `get -o yaml|json` prints it, edited (- reads stdin)")
    .addOption(new Option("-o, --output <format>", "output format").choices([...OUTPUT_FORMATS]).default("table"));
  if (hasId) cmd.argument("[id]", `${kind.name} id (or the id in -f)`);
  const keyFields = new Set(kind.resource.fields.filter((f) => OUTPUT_ONLY.test(f.name)).map((f) => f.name));
  const resourceOptions = addFieldOptions(cmd, kind.resource, keyFields);
  const requestOptions = addFieldOptions(cmd, method.input, new Set([wrapper.name, "update_mask"]));
  const example = resourceOptions[0]?.flags[0] ?? "--field";
  withExamples(cmd, [
    `edgehubctl update ${kind.name} ${hasId ? "0192c3a4-… " : ""}${example} …`,
    `edgehubctl get ${kind.name} ${hasId ? "0192c3a4-… " : ""}-o yaml > ${kind.name}.yaml && $EDITOR ${kind.name}.yaml && edgehubctl update ${kind.name} -f ${kind.name}.yaml`,
  ]);
  cmd.action(async (...args: unknown[]) => {
    const idArg = hasId ? (args[0] as string | undefined) : undefined;
    const opts = (hasId ? args[1] : args[0]) as UpdateOptions;
    const format = parseOutputFormat(opts.output);
    const session = await ctx.session(cmd);
    const flags = fieldValues(resourceOptions, opts);
    const extra = fieldValues(requestOptions, opts).json;
    let resource: JsonObject;
    let paths: string[];
    if (opts.file) {
      const docs = await readInputDocuments(opts.file, ctx.io);
      if (docs.length !== 1) throw new UsageError(`${opts.file}: update takes one ${kind.name}, found ${docs.length}`);
      const doc = { ...docs[0]!, ...(flags.json as JsonObject) };
      const id = idArg ?? (typeof doc.id === "string" ? doc.id : undefined);
      if (hasId && !id) throw new UsageError(`No id: give it as an argument or in ${opts.file}`);
      const current =
        hasId && kind.get
          ? messageJson(
              kind.resource,
              await resourceReader(session, kind, ctx.api.registry).get(id, {}),
              ctx.api.registry,
            )
          : undefined;
      resource = { ...doc, ...(id ? { id } : {}) };
      paths = changedPaths(kind, doc, current);
    } else {
      if (hasId && !idArg) throw new UsageError(`Give the ${kind.name} id`);
      resource = { ...(flags.json as JsonObject), ...(idArg ? { id: idArg } : {}) };
      paths = flags.paths;
    }
    if (paths.length === 0) {
      ctx.io.stderr.write(`Nothing to change in ${kind.name}${resource.id ? ` ${String(resource.id)}` : ""}\n`);
      return;
    }
    const json: Record<string, JsonValue> = {
      ...extra,
      [wrapper.jsonName]: resource,
      updateMask: paths.map((p) => p.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())).join(","),
    };
    const response = await callUnary(
      session,
      kind.service,
      method,
      requestMessage(method.input, json, ctx.api.registry),
    );
    ctx.io.stdout.write(
      renderMessages(
        kind.resource,
        resourcesIn(response, method.output, kind.resource),
        format,
        ctx.api.registry,
        true,
      ),
    );
  });
  return cmd;
}

import { Command, Option } from "commander";
import type { JsonValue } from "@bufbuild/protobuf";
import { runBatch } from "../batch-runner.js";
import { callUnary } from "../call-unary.js";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { CREATE_EXTENSIONS } from "../create-extension-list.js";
import { addFieldOptions, fieldValues, type FieldOption } from "../field-options.js";
import { readInputDocuments, type JsonObject } from "../input-documents.js";
import { OUTPUT_FORMATS, messageJson, parseOutputFormat, renderMessages } from "../output-format.js";
import { requestMessage } from "../request-message.js";
import { OUTPUT_ONLY, jsonKeyOf, resourcesIn, wrapperField } from "../resource-fields.js";
import type { ResourceKind } from "../resource-kinds.js";
import { UsageError } from "../usage-error.js";

interface CreateOptions {
  file?: string;
  output: string;
  [field: string]: unknown;
}

/**
 * `create <kind>`: from flags (the Create request's fields, or its resource's when the request wraps
 * one) or from `-f file.yaml|json` (what `get -o yaml|json` prints; several resources make a batch).
 */
export function createCommand(kind: ResourceKind, ctx: CliContext, name: string, aliases: readonly string[]): Command {
  const method = kind.create!;
  const wrapper = wrapperField(method.input, kind.resource);
  const cmd = new Command(name)
    .aliases([...aliases])
    .description(`Create ${kind.name} resources (${kind.service.name}.${method.name})`)
    .option("-f, --file <file>", "YAML or JSON: one resource, a list, or several documents (- reads stdin)")
    .addOption(new Option("-o, --output <format>", "output format").choices([...OUTPUT_FORMATS]).default("table"));
  const resourceOptions: FieldOption[] = wrapper
    ? addFieldOptions(
        cmd,
        kind.resource,
        new Set(kind.resource.fields.filter((f) => OUTPUT_ONLY.test(f.name)).map((f) => f.name)),
      )
    : [];
  const requestOptions = addFieldOptions(cmd, method.input, new Set(wrapper ? [wrapper.name] : []));
  const extension = CREATE_EXTENSIONS[kind.name];
  extension?.options(cmd);
  const flagExample = [...resourceOptions, ...requestOptions]
    .slice(0, 2)
    .map((o) => `${o.flags[0]} …`)
    .join(" ");
  withExamples(cmd, [
    `edgehubctl create ${kind.name} ${flagExample}`.trimEnd(),
    `edgehubctl create ${kind.name} -f ${kind.name}.yaml`,
    `edgehubctl get ${kind.name} ID -o json | edgehubctl create ${kind.name} -f -`,
  ]);
  cmd.action(async (opts: CreateOptions) => {
    const format = parseOutputFormat(opts.output);
    const session = await ctx.session(cmd);
    const flagsResource = fieldValues(resourceOptions, opts).json;
    const flagsRequest = fieldValues(requestOptions, opts).json;
    const docs: JsonObject[] = opts.file ? await readInputDocuments(opts.file, ctx.io) : [{}];
    if (!opts.file && Object.keys(flagsResource).length + Object.keys(flagsRequest).length === 0) {
      throw new UsageError(
        `Nothing to create: give fields as flags or -f file (see edgehubctl create ${kind.name} --help)`,
      );
    }
    const requests = docs.map((doc) => {
      let json: Record<string, JsonValue>;
      if (wrapper) {
        const key = jsonKeyOf(doc, wrapper);
        const inner = (key ? doc[key] : doc) as JsonObject;
        const rest = key ? doc : {};
        json = { ...rest, ...flagsRequest, [wrapper.jsonName]: { ...inner, ...(flagsResource as JsonObject) } };
        if (key && key !== wrapper.jsonName) delete json[key];
      } else {
        json = { ...doc, ...(flagsRequest as JsonObject) };
      }
      return requestMessage(method.input, json, ctx.api.registry);
    });
    const labelOf = (i: number) => {
      const doc = docs[i] ?? {};
      const named =
        doc.name ??
        doc.username ??
        doc.hostname ??
        (wrapper ? (doc[wrapper.jsonName] as JsonObject | undefined)?.name : undefined);
      return `${kind.name} ${typeof named === "string" ? named : `#${i + 1}`}`;
    };
    if (requests.length === 1) {
      const response = await callUnary(session, kind.service, method, requests[0]!);
      const created = resourcesIn(response, method.output, kind.resource);
      ctx.io.stdout.write(renderMessages(kind.resource, created, format, ctx.api.registry, true));
      if (extension && format !== "json" && format !== "yaml")
        ctx.io.stdout.write(extension.after(response, opts, session));
      return;
    }
    await runBatch(
      requests.map((request, i) => ({
        label: labelOf(i),
        async run() {
          const response = await callUnary(session, kind.service, method, request);
          const created = resourcesIn(response, method.output, kind.resource)[0];
          const id = created ? messageJson(kind.resource, created, ctx.api.registry).id : undefined;
          return `created ${labelOf(i)}${typeof id === "string" ? ` (${id})` : ""}`;
        },
      })),
      { io: ctx.io, registry: ctx.api.registry, progress: ctx.progress(cmd) },
    );
  });
  return cmd;
}

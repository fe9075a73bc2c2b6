import { Command, Option } from "commander";
import YAML from "yaml";
import type { JsonValue } from "@bufbuild/protobuf";
import { callUnary } from "../call-unary.js";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { readInputDocuments } from "../input-documents.js";
import { messageJson } from "../output-format.js";
import { requestMessage } from "../request-message.js";
import { UsageError } from "../usage-error.js";

/** `call Service.Method`: any unary method of the admin API with a JSON/YAML request (for what no kind covers). */
export function callCommand(ctx: CliContext): Command {
  const cmd = new Command("call")
    .description("Call any admin API method with a JSON or YAML request")
    .argument("<method>", "Method, Service.Method or Service/Method (e.g. TemplateService.PreviewInstanceConfig)")
    .option("-d, --data <json>", "the request as JSON or YAML", "{}")
    .option("-f, --file <file>", "read the request from a file (- is stdin)")
    .addOption(new Option("-o, --output <format>", "output format").choices(["json", "yaml"]).default("yaml"));
  withExamples(cmd, [
    "edgehubctl call FleetService.RunDiagnostic -d '{agentId: 0192…, payload: {echo: {message: hi}}}'",
    "edgehubctl call TemplateService.PreviewInstanceConfig -f preview.yaml -o json",
  ]);
  cmd.action(async (name: string, opts: { data: string; file?: string; output: string }) => {
    const [svc, m] = name.includes(".") || name.includes("/") ? name.split(/[./](?=[^./]+$)/) : [undefined, name];
    const matches = ctx.api.services.flatMap((s) =>
      s.methods.filter((x) => x.name === m && (!svc || s.name === svc || s.typeName === svc)).map((x) => ({ s, x })),
    );
    if (matches.length !== 1)
      throw new UsageError(matches.length === 0 ? `No method ${name}` : `${name} is ambiguous: name the service`);
    const { s, x } = matches[0]!;
    if (x.methodKind !== "unary") throw new UsageError(`${name} is not a unary method`);
    const json = opts.file
      ? (await readInputDocuments(opts.file, ctx.io))[0]!
      : (YAML.parse(opts.data) as Record<string, JsonValue>);
    const response = await callUnary(
      await ctx.session(cmd),
      s,
      x,
      requestMessage(x.input, json ?? {}, ctx.api.registry),
    );
    const body = messageJson(x.output, response, ctx.api.registry);
    ctx.io.stdout.write(opts.output === "json" ? JSON.stringify(body, null, 2) + "\n" : YAML.stringify(body));
  });
  return cmd;
}

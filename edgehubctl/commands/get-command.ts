import { Command, Option } from "commander";
import type { Message } from "@bufbuild/protobuf";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { errorReport } from "../error-report.js";
import { exitCodeOf } from "../exit-codes.js";
import { addFieldOptions, fieldValues, type FieldOption } from "../field-options.js";
import { OUTPUT_FORMATS, parseOutputFormat, renderMessages } from "../output-format.js";
import { ReportedError } from "../reported-error.js";
import { resourceReader } from "../resource-reader.js";
import type { ResourceKind } from "../resource-kinds.js";
import { isWatchable, watchResources } from "../resource-watch.js";
import { UsageError } from "../usage-error.js";

const NOT_FILTERS = new Set(["id", "page_size", "page_token"]);

interface GetOptions {
  output: string;
  watch?: boolean;
  watchInterval: string;
  limit?: string;
  [filter: string]: unknown;
}

/**
 * `get <kind> [ids...]`: a table of the kind (columns from its message), by id or every page of its
 * List, filtered by the List request's fields; `-o json|yaml|wide`; `--watch` for kinds with a status.
 */
export function getCommand(kind: ResourceKind, ctx: CliContext, name: string, aliases: readonly string[]): Command {
  const cmd = new Command(name)
    .aliases([...aliases])
    .description(`Show ${kind.name} resources as a table (${kind.service.name})`)
    .argument("[ids...]", `${kind.name} ids; none lists them all`)
    .addOption(new Option("-o, --output <format>", "output format").choices([...OUTPUT_FORMATS]).default("table"))
    .option("--limit <n>", "show at most n (lists only)");
  if (isWatchable(kind.resource)) {
    cmd
      .option("-w, --watch", "keep watching: print resources again as they change (Ctrl-C stops)")
      .option("--watch-interval <seconds>", "how often --watch asks the hub", "2");
  }
  const filters: FieldOption[] = [];
  for (const method of [kind.list, kind.get]) {
    if (method) filters.push(...addFieldOptions(cmd, method.input, NOT_FILTERS));
  }
  const example = kind.aliases[0] ?? kind.name;
  withExamples(cmd, [
    `edgehubctl get ${example}`,
    `edgehubctl get ${kind.name} 0192c3a4-… -o yaml`,
    `edgehubctl get ${example} -o json > ${kind.name}s.json`,
    ...(isWatchable(kind.resource) ? [`edgehubctl get ${example} --watch`] : []),
  ]);
  cmd.action(async (ids: string[], opts: GetOptions) => {
    const format = parseOutputFormat(opts.output);
    const session = await ctx.session(cmd);
    const reader = resourceReader(session, kind, ctx.api.registry);
    const { json } = fieldValues(filters, opts);
    const limit = opts.limit === undefined ? undefined : Number(opts.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
      throw new UsageError(`Invalid value for --limit: "${opts.limit}"`);
    const byId = ids.length > 0 || !kind.list;
    const read = async (): Promise<{ items: Message[]; failure?: unknown }> => {
      if (!byId) return { items: await reader.list(json, limit) };
      if (ids.length === 0) return { items: [await reader.get(undefined, json)] };
      const items: Message[] = [];
      let failure: unknown;
      for (const id of ids) {
        try {
          items.push(await reader.get(id, json));
        } catch (err) {
          ctx.io.stderr.write(errorReport(err, ctx.api.registry));
          failure ??= err;
        }
      }
      return { items, failure };
    };
    if (opts.watch) {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
      const intervalMs = Math.max(100, Number(opts.watchInterval) * 1000 || 2000);
      try {
        await watchResources(async () => (await read()).items, {
          io: ctx.io,
          registry: ctx.api.registry,
          schema: kind.resource,
          format,
          intervalMs,
          signal: stop.signal,
        });
      } finally {
        process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
      }
      return;
    }
    const { items, failure } = await read();
    if (items.length > 0 || !byId)
      ctx.io.stdout.write(renderMessages(kind.resource, items, format, ctx.api.registry, byId && ids.length <= 1));
    if (failure !== undefined) throw new ReportedError(exitCodeOf(failure));
  });
  return cmd;
}

import { setTimeout as sleep } from "node:timers/promises";
import type { DescMessage, Message, Registry } from "@bufbuild/protobuf";
import type { CliIo } from "./cli-io.js";
import { messageJson, renderMessages, type OutputFormat } from "./output-format.js";

export interface WatchOptions {
  readonly io: CliIo;
  readonly registry: Registry;
  readonly schema: DescMessage;
  readonly format: OutputFormat;
  readonly intervalMs: number;
  readonly signal: AbortSignal;
}

/** Whether the hub changes this kind by itself (a status or state): then --watch means something. */
export function isWatchable(schema: DescMessage): boolean {
  return schema.fields.some((f) => (f.name === "status" || f.name === "state") && f.fieldKind === "enum");
}

/**
 * Polls `read` until the signal aborts (Ctrl-C): the first answer in full, then each resource that
 * appeared or changed, as a row without the header (tables) or one JSON/YAML document. The admin
 * API has no watch stream yet; polling is the honest fallback and needs nothing from the hub.
 */
export async function watchResources(read: () => Promise<Message[]>, options: WatchOptions): Promise<void> {
  const { io, schema, registry, format } = options;
  const seen = new Map<string, string>();
  let first = true;
  while (!options.signal.aborted) {
    const items = await read();
    const changed = items.filter((m) => {
      const json = messageJson(schema, m, registry);
      const key = String(json.id ?? JSON.stringify(json));
      const text = JSON.stringify(json);
      if (seen.get(key) === text) return false;
      seen.set(key, text);
      return true;
    });
    const tabular = format === "table" || format === "wide";
    if (first && tabular) {
      io.stdout.write(renderMessages(schema, changed, format, registry, false));
    } else {
      for (const m of changed) {
        const text = renderMessages(schema, [m], format, registry, true);
        io.stdout.write(tabular ? text.split("\n").slice(1).join("\n") : format === "yaml" ? `---\n${text}` : text);
      }
    }
    first = false;
    await sleep(options.intervalMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
}

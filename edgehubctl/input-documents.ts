import fs from "node:fs";
import type { JsonValue } from "@bufbuild/protobuf";
import YAML from "yaml";
import type { CliIo } from "./cli-io.js";
import { UsageError } from "./usage-error.js";

export type JsonObject = Record<string, JsonValue>;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream as AsyncIterable<Buffer | string>) text += chunk.toString();
  return text;
}

/**
 * The objects in a -f file (`-` is stdin): YAML or JSON (what `-o yaml|json` prints), one object,
 * an array of them, or several YAML documents.
 */
export async function readInputDocuments(file: string, io: CliIo): Promise<JsonObject[]> {
  let text: string;
  try {
    text = file === "-" ? await readAll(io.stdin as NodeJS.ReadableStream) : fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  const docs = YAML.parseAllDocuments(text);
  const values: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new UsageError(`Cannot parse ${file}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as unknown;
    if (Array.isArray(value)) values.push(...(value as unknown[]));
    else if (value !== null && value !== undefined) values.push(value);
  }
  if (values.length === 0) throw new UsageError(`${file} holds no resource`);
  for (const v of values) {
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw new UsageError(`${file}: every document must be an object`);
  }
  return values as JsonObject[];
}

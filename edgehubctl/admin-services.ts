import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { createRegistry, type DescFile, type DescService, type Registry } from "@bufbuild/protobuf";
import { file_google_rpc_error_details } from "../gen/google/rpc/error_details_pb.js";

/** The admin API as the generated code describes it: every service, and a registry of every type. */
export interface AdminApi {
  readonly services: readonly DescService[];
  readonly registry: Registry;
}

const ADMIN_GEN_DIR = new URL("../gen/edgehub/admin/v1/", import.meta.url);

/**
 * Loads every generated file of edgehub.admin.v1 (whatever is there: a new service needs no CLI
 * code) and returns its services. Works from the sources (tsx, `_pb.ts`) and from dist (`_pb.js`).
 */
export async function loadAdminApi(): Promise<AdminApi> {
  const dir = fileURLToPath(ADMIN_GEN_DIR);
  const names = fs
    .readdirSync(dir)
    .filter((n) => /_pb\.(js|ts)$/.test(n) && !n.endsWith(".d.ts"))
    .sort();
  const files: DescFile[] = [];
  for (const name of names) {
    const mod = (await import(new URL(name, ADMIN_GEN_DIR).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      if (isDescFile(value)) files.push(value);
    }
  }
  const services = files.flatMap((f) => f.services).sort((a, b) => a.typeName.localeCompare(b.typeName));
  return { services, registry: createRegistry(file_google_rpc_error_details, ...files) };
}

function isDescFile(value: unknown): value is DescFile {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "file";
}

import fs from "node:fs";
import path from "node:path";
import type { Knex } from "knex";
import { certificateFingerprint, generateHubCa, HubCa } from "./hub-ca.js";

/**
 * Loads the CA every hub shares, creating it on the very first start. Callers hold the bootstrap
 * advisory lock, so two hubs starting together cannot each create one.
 */
export async function loadOrCreateHubCa(knex: Knex, now: Date): Promise<{ ca: HubCa; created: boolean }> {
  const row = await knex("hub_ca")
    .where("id", 1)
    .first<{ cert_pem: string; key_pem: string } | undefined>("cert_pem", "key_pem");
  if (row) return { ca: await HubCa.load({ certPem: row.cert_pem, keyPem: row.key_pem }), created: false };
  const pair = await generateHubCa(now);
  await knex("hub_ca").insert({
    id: 1,
    cert_pem: pair.certPem,
    key_pem: pair.keyPem,
    fingerprint_sha256: certificateFingerprint(pair.certPem),
    created_at: now,
  });
  return { ca: await HubCa.load(pair), created: true };
}

/** Writes the CA certificate (public) into the data directory for `edgehub-agent --hub-ca`. */
export function writeCaCertificate(dataDir: string, ca: HubCa): string {
  const dir = path.join(dataDir, "pki");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "hub-ca.crt");
  fs.writeFileSync(file, ca.certPem);
  return file;
}

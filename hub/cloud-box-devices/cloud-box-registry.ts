import type { Knex } from "knex";
import { newId } from "../db/ids.js";
import { AlreadyExistsError, InvalidArgumentError } from "../domain/errors.js";
import type { BoxFacts, DeviceMetrics } from "./box-facts.js";
import { AGENT_BACK, moveBoxesOfAgents } from "./cloud-box-lifecycle.js";

// The fleet's hooks into cloud boxes: a box is registered by its enrollment (plug and play),
// comes online with its Hello and stores the device metrics it reports.

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Checks enrollment facts: the serial number identifies the device, the MAC must be well formed. */
export function checkEnrollmentFacts(facts: BoxFacts | null): BoxFacts {
  if (!facts) throw new InvalidArgumentError("cloud_box", "is required for a cloud_box enrollment");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(facts.serialNumber))
    throw new InvalidArgumentError(
      "cloud_box.serial_number",
      "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  if (!MAC.test(facts.macAddress))
    throw new InvalidArgumentError("cloud_box.mac_address", "must be six hex pairs separated by colons");
  if (facts.model.length > 128) throw new InvalidArgumentError("cloud_box.model", "must be at most 128 characters");
  return facts;
}

/**
 * Registers a newly enrolled box as `initializing`, in the enrollment's transaction. A serial
 * number already held by a live box is refused: the old box must be decommissioned first.
 */
export async function registerCloudBox(
  trx: Knex.Transaction,
  input: { agentId: string; edgeDataCenterId: string | null; facts: BoxFacts; now: Date },
): Promise<string> {
  const f = input.facts;
  const taken = await trx("cloud_boxes")
    .where({ serial_number: f.serialNumber })
    .whereNull("deleted_at")
    .whereNot("status", "decommissioned")
    .first("id");
  if (taken)
    throw new AlreadyExistsError(
      "cloud box",
      `serial number ${f.serialNumber} is held by box ${taken.id as string}; decommission it first`,
    );
  const id = newId();
  await trx("cloud_boxes").insert({
    id,
    agent_id: input.agentId,
    name: `box-${f.serialNumber}`.slice(0, 64),
    serial_number: f.serialNumber,
    mac_address: f.macAddress,
    model: f.model,
    manufacturer: f.manufacturer,
    edge_data_center_id: input.edgeDataCenterId,
    status: "initializing",
    ...factColumns(f),
    created_at: input.now,
    updated_at: input.now,
  });
  return id;
}

function factColumns(f: BoxFacts) {
  return {
    firmware_version: f.firmwareVersion,
    ip_address: f.ipAddress,
    ...(f.network
      ? {
          network_mode: f.network.mode,
          gateway: f.network.gateway,
          dns_servers: JSON.stringify(f.network.dnsServers),
          subnet_mask: f.network.subnetMask,
        }
      : {}),
  };
}

/**
 * The boxes among a Hello batch come online (initializing/offline/error → online; disabled,
 * maintenance and decommissioned stay) and record the facts their Hello carried.
 */
export async function boxesSaidHello(
  trx: Knex.Transaction,
  hellos: readonly { agentId: string; facts: BoxFacts | null }[],
  now: Date,
): Promise<void> {
  if (hellos.length === 0) return;
  for (const h of hellos) {
    if (h.facts)
      await trx("cloud_boxes")
        .where({ agent_id: h.agentId })
        .whereNull("deleted_at")
        .update({ ...factColumns(h.facts), updated_at: now });
  }
  await moveBoxesOfAgents(
    trx,
    hellos.map((h) => h.agentId),
    AGENT_BACK,
    now,
  );
}

/** The latest device metrics of a box (000 §1.6); last boot follows from its uptime. */
export async function recordBoxMetrics(knex: Knex, agentId: string, m: DeviceMetrics, now: Date): Promise<void> {
  await knex("cloud_boxes")
    .where({ agent_id: agentId })
    .whereNull("deleted_at")
    .update({
      last_metrics: JSON.stringify(m),
      last_metrics_at: now,
      last_boot_at: new Date(now.getTime() - m.uptimeSeconds * 1000),
    });
}

import type { Knex } from "knex";
import type { Database } from "../db/database.js";

/** The one NOTIFY channel of the fleet; every hub listens and acts on what concerns agents it holds. */
export const FLEET_CHANNEL = "edgehub_fleet";

export type FleetNotice =
  /** New queued commands for the agent: its holder pumps them. */
  | { t: "commands"; agentId: string }
  /** A delivered or running command was cancelled or expired: its holder tells the agent. */
  | { t: "cancel"; agentId: string; commandId: string; reason: string }
  /** The agent's certificate was revoked: its holder closes the stream. */
  | { t: "revoke"; agentId: string }
  /** The agent opened a new session (maybe on another hub): older streams of it close. */
  | { t: "session"; agentId: string; sessionId: string };

/** Sends a notice; inside a transaction it is delivered at commit, so no hub acts on rolled-back work. */
export async function notifyFleet(knex: Knex, notice: FleetNotice): Promise<void> {
  await knex.raw("SELECT pg_notify(?, ?)", [FLEET_CHANNEL, JSON.stringify(notice)]);
}

export async function listenFleet(db: Database, onNotice: (notice: FleetNotice) => void): Promise<() => Promise<void>> {
  return db.listen(FLEET_CHANNEL, (payload) => {
    let notice: FleetNotice;
    try {
      notice = JSON.parse(payload) as FleetNotice;
    } catch {
      return;
    }
    onNotice(notice);
  });
}

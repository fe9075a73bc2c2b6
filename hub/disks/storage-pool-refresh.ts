import type { Knex } from "knex";
import { newId } from "../db/ids.js";
import { isFinal, type CommandState } from "../fleet/command-lifecycle.js";
import {
  enqueueGatewayCommand,
  poolsOfCommand,
  rbdPayloads,
  type ClusterAccess,
  type ObservedPool,
} from "./ceph-gateway-link.js";

interface Gateway {
  id: string;
  status: string;
  connected_at: Date | null;
  edge_data_center_id: string | null;
  refreshed_at: Date | null;
}

const COMMAND_DEADLINE_MS = 60_000;

/**
 * One refresh round over every ceph_gateway: a gateway that connected since its last listing (a new
 * Hello), or whose listing is older than `refreshMs`, gets a list_rbd_pools command; a finished
 * listing replaces its pools' figures (pools it no longer lists become absent); the pools of a
 * gateway that is not connected (offline, disconnected, revoked) become unreachable, so no new disk
 * is placed on them.
 */
export async function refreshStoragePools(trx: Knex.Transaction, now: Date, refreshMs: number): Promise<void> {
  // One statement for every gateway that is away, however many were ever enrolled: the pass runs
  // every second and must not cost a query per gateway.
  await trx("storage_pools")
    .where({ status: "active" })
    .whereIn("agent_id", trx("agents").where({ role: "ceph_gateway" }).whereNot({ status: "connected" }).select("id"))
    .update({ status: "unreachable", updated_at: now });
  const gateways = (await trx("agents as a")
    .leftJoin("ceph_gateways as g", "g.agent_id", "a.id")
    .where({ "a.role": "ceph_gateway", "a.status": "connected" })
    .select("a.id", "a.status", "a.connected_at", "a.edge_data_center_id", "g.refreshed_at")) as Gateway[];
  for (const gw of gateways) {
    const latest = (await trx("agent_commands")
      .where({ agent_id: gw.id, kind: "list_rbd_pools" })
      .where("idempotency_key", "like", "pools:%")
      .orderBy("created_at", "desc")
      .first()) as Record<string, unknown> | undefined;
    const command = latest ? toCommandLike(latest) : undefined;
    if (command?.state === "succeeded" && (!gw.refreshed_at || command.finishedAt! > new Date(gw.refreshed_at))) {
      const listing = poolsOfCommand(command);
      if (listing) await applyListing(trx, gw, listing.pools, listing.cluster, command.finishedAt!);
    }
    const helloSince = gw.connected_at && (!command || new Date(gw.connected_at) > command.createdAt);
    const stale = !command || (isFinal(command.state) && now.getTime() - command.createdAt.getTime() >= refreshMs);
    if (helloSince || stale)
      await enqueueGatewayCommand(trx, {
        agentId: gw.id,
        key: `pools:${newId()}`,
        payload: rbdPayloads.listPools(),
        deadline: new Date(now.getTime() + COMMAND_DEADLINE_MS),
        at: now,
      });
  }
}

function toCommandLike(r: Record<string, unknown>) {
  return {
    id: r.id as string,
    agentId: r.agent_id as string,
    state: r.state as CommandState,
    result: r.result,
    createdAt: new Date(r.created_at as string),
    finishedAt: r.finished_at ? new Date(r.finished_at as string) : null,
  };
}

async function applyListing(
  trx: Knex.Transaction,
  gw: Gateway,
  pools: ObservedPool[],
  cluster: ClusterAccess | null,
  at: Date,
): Promise<void> {
  await trx("ceph_gateways")
    .insert({
      agent_id: gw.id,
      edge_data_center_id: gw.edge_data_center_id,
      mon_hosts: cluster?.monHosts ?? [],
      auth_user: cluster?.authUser ?? "",
      secret_uuid: cluster?.secretUuid ?? "",
      refreshed_at: at,
      updated_at: at,
    })
    .onConflict("agent_id")
    .merge();
  for (const p of pools) {
    const figures = {
      capacity_bytes: (p.usedBytes + p.availableBytes).toString(),
      used_bytes: p.usedBytes.toString(),
      available_bytes: p.availableBytes.toString(),
      object_count: p.objectCount.toString(),
      status: "active",
      edge_data_center_id: gw.edge_data_center_id,
      refreshed_at: at,
      updated_at: at,
    };
    await trx("storage_pools")
      .insert({ id: newId(), agent_id: gw.id, name: p.name, created_at: at, ...figures })
      .onConflict(["agent_id", "name"])
      .merge(figures);
  }
  await trx("storage_pools")
    .where({ agent_id: gw.id })
    .whereNotIn(
      "name",
      pools.map((p) => p.name),
    )
    .update({ status: "absent", updated_at: at });
}

import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { NotFoundError } from "../domain/errors.js";
import type { Instance, VirtualMachine } from "./instance.js";
import type { InstanceStatus } from "./instance-enums.js";

const COLUMNS = [
  "id",
  "name",
  "description",
  "user_id",
  "tenant_id",
  "template_id",
  "image_id",
  "image_version_id",
  "image_tag_used",
  "cpu_cores",
  "memory_gb",
  "storage_gb",
  "gpu_count",
  "gpu_model",
  "status",
  "desired_state",
  "rental_mode",
  "resource_pool_id",
  "compute_machine_id",
  "virtual_machine_id",
  "requested_pool_id",
  "operation_id",
  "pending_action",
  "operation_deadline",
  "last_error",
  "created_at",
  "updated_at",
  "created_by",
  "updated_by",
].map((c) => `instances.${c}`);

type Row = Record<string, unknown>;

function toInstance(r: Row): Instance {
  return {
    id: r.id as string,
    name: r.name as string,
    description: r.description as string,
    userId: r.user_id as string,
    tenantId: r.tenant_id as string,
    templateId: (r.template_id as string | null) ?? null,
    imageId: r.image_id as string,
    imageVersionId: r.image_version_id as string,
    imageTagUsed: r.image_tag_used as string,
    cpuCores: Number(r.cpu_cores),
    memoryGb: Number(r.memory_gb),
    storageGb: Number(r.storage_gb),
    gpuCount: Number(r.gpu_count),
    gpuModel: (r.gpu_model as string | null) ?? null,
    status: r.status as Instance["status"],
    desiredState: r.desired_state as Instance["desiredState"],
    rentalMode: (r.rental_mode as Instance["rentalMode"]) ?? null,
    resourcePoolId: (r.resource_pool_id as string | null) ?? null,
    computeMachineId: (r.compute_machine_id as string | null) ?? null,
    virtualMachineId: (r.virtual_machine_id as string | null) ?? null,
    requestedPoolId: (r.requested_pool_id as string | null) ?? null,
    operationId: (r.operation_id as string | null) ?? null,
    pendingAction: (r.pending_action as "restart" | null) ?? null,
    operationDeadline: r.operation_deadline ? new Date(r.operation_deadline as string) : null,
    lastError: r.last_error as string,
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
    createdBy: (r.created_by as string | null) ?? null,
    updatedBy: (r.updated_by as string | null) ?? null,
  };
}

/** A live (not soft-deleted) instance; `lock` takes FOR UPDATE; `includeDeleted` also finds a deleted one. */
export async function getInstance(
  knex: Knex,
  id: string,
  options: { lock?: boolean; includeDeleted?: boolean } = {},
): Promise<Instance> {
  const q = knex("instances").where("instances.id", id).first(COLUMNS);
  if (!options.includeDeleted) q.whereNull("instances.deleted_at");
  if (options.lock) q.forUpdate();
  const row = (await q) as Row | undefined;
  if (!row) throw new NotFoundError("instance", id);
  return toInstance(row);
}

export interface InstanceListQuery {
  tenantId: string | null;
  userId: string | null;
  status: InstanceStatus | null;
  computeMachineId: string | null;
  imageVersionId: string | null;
}

/** Live instances in creation order (ids are v7 UUIDs), keyset-paged on id. */
export async function listInstances(knex: Knex, filter: InstanceListQuery, page: PageRequest): Promise<Page<Instance>> {
  const q = knex("instances")
    .whereNull("instances.deleted_at")
    .orderBy("instances.id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (filter.tenantId) q.where("instances.tenant_id", filter.tenantId);
  if (filter.userId) q.where("instances.user_id", filter.userId);
  if (filter.status) q.where("instances.status", filter.status);
  if (filter.computeMachineId) q.where("instances.compute_machine_id", filter.computeMachineId);
  if (filter.imageVersionId) q.where("instances.image_version_id", filter.imageVersionId);
  if (page.after) q.where("instances.id", ">", page.after[0]!);
  return pageOf(((await q) as Row[]).map(toInstance), page, (i) => [i.id]);
}

const VM_COLUMNS = [
  "id",
  "compute_machine_id",
  "instance_id",
  "vm_name",
  "cpu_cores",
  "memory_gb",
  "storage_gb",
  "gpu_count",
  "status",
  "config",
  "graphics_protocol",
  "graphics_host",
  "graphics_port",
  "last_domain_state",
  "created_at",
  "updated_at",
];

function toVm(r: Row): VirtualMachine {
  return {
    id: r.id as string,
    computeMachineId: r.compute_machine_id as string,
    instanceId: r.instance_id as string,
    vmName: r.vm_name as string,
    cpuCores: Number(r.cpu_cores),
    memoryGb: Number(r.memory_gb),
    storageGb: Number(r.storage_gb),
    gpuCount: Number(r.gpu_count),
    status: r.status as VirtualMachine["status"],
    config: (r.config as Record<string, unknown>) ?? {},
    graphicsProtocol: r.graphics_protocol as string,
    graphicsHost: r.graphics_host as string,
    graphicsPort: Number(r.graphics_port),
    lastDomainState: r.last_domain_state as string,
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

/** The instance's live VM (at most one: a partial unique index), or undefined. */
export async function liveVmOf(knex: Knex, instanceId: string): Promise<VirtualMachine | undefined> {
  const row = (await knex("virtual_machines")
    .where({ instance_id: instanceId })
    .whereNull("deleted_at")
    .first(VM_COLUMNS)) as Row | undefined;
  return row ? toVm(row) : undefined;
}

export async function getVm(knex: Knex, id: string): Promise<VirtualMachine | undefined> {
  const row = (await knex("virtual_machines").where({ id }).first(VM_COLUMNS)) as Row | undefined;
  return row ? toVm(row) : undefined;
}

/** Live VMs of many instances at once (a list page). */
export async function liveVmsOf(knex: Knex, instanceIds: readonly string[]): Promise<Map<string, VirtualMachine>> {
  if (instanceIds.length === 0) return new Map();
  const rows = (await knex("virtual_machines")
    .whereIn("instance_id", instanceIds)
    .whereNull("deleted_at")
    .select(VM_COLUMNS)) as Row[];
  return new Map(rows.map((r) => [r.instance_id as string, toVm(r)]));
}

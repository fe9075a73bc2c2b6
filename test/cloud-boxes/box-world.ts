import type { Knex } from "knex";
import { CloudBoxService } from "../../gen/edgehub/admin/v1/cloud_box_pb.js";
import { InstanceService } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { newId } from "../../hub/db/ids.js";
import { CatalogPeople, PASSWORD, type TestUser } from "../catalog/catalog-fixtures.js";
import { InstanceWorld } from "../instances/instance-fixtures.js";

// The API suites' world: InstanceWorld's hub (manual clock, played compute agent) plus tenant
// admins of two tenants, an operator, and cloud boxes inserted as enrolled, connected devices.

export class BoxWorld extends InstanceWorld {
  tenantAdmin!: TestUser;
  otherTenantAdmin!: TestUser;
  operator!: TestUser;
  carol!: TestUser;
  siteId = "";
  private readonly boxTokens = new Map<string, string>();
  private serial = 0;

  override async start(): Promise<void> {
    await super.start();
    const people = new CatalogPeople(this.knex);
    const a = (await this.knex("tenants").where({ name: "tenant-a" }).first("id", "name")) as {
      id: string;
      name: string;
    };
    const b = await people.tenant("tenant-b");
    this.tenantAdmin = await people.user("ta", "tenant_admin", a);
    this.otherTenantAdmin = await people.user("tb", "tenant_admin", b);
    this.carol = await people.user("carol", "user", b);
    this.operator = await people.user("op", "operator", null);
    for (const u of [this.alice, this.bob, this.tenantAdmin, this.otherTenantAdmin, this.carol, this.operator])
      this.boxTokens.set(u.username, await this.t.login(u.username, PASSWORD, u.tenantName));
    this.boxTokens.set("admin", this.adminToken);
    this.siteId = this.pool.dataCenterId;
  }

  boxes(who: TestUser | "admin" = "admin") {
    return this.t.client(CloudBoxService, this.boxTokens.get(who === "admin" ? "admin" : who.username)!);
  }

  /** A box as enrollment and its first Hello leave it: an agent connected, the box online. */
  async insertBox(
    over: { status?: string; tags?: Record<string, string>; agentStatus?: string } = {},
  ): Promise<string> {
    const n = ++this.serial;
    const agentId = newId();
    const id = newId();
    const now = this.clock.now();
    await this.knex("agents").insert({
      id: agentId,
      role: "cloud_box",
      hostname: `box-${n}`,
      edge_data_center_id: this.siteId,
      certificate_serial: `b${n}`,
      certificate_expires_at: new Date(now.getTime() + 86_400_000),
      status: over.agentStatus ?? "connected",
      enrolled_at: now,
    });
    await this.knex("cloud_boxes").insert({
      id,
      agent_id: agentId,
      name: `box-${n}`,
      serial_number: `SN-${n}`,
      mac_address: `02:00:00:00:00:${n.toString(16).padStart(2, "0")}`,
      model: "EB-100",
      edge_data_center_id: this.siteId,
      status: over.status ?? "online",
      tags: JSON.stringify(over.tags ?? {}),
      created_at: now,
      updated_at: now,
    });
    return id;
  }

  /** An instance of `u` (stopped, as created). */
  async instanceOf(u: TestUser): Promise<string> {
    const client = this.t.client(InstanceService, this.boxTokens.get(u.username)!);
    return (
      await client.createInstance({
        instance: { name: `desk-${u.username}`, cpuCores: 2, memoryGb: 2, storageGb: 10 },
        imageId: this.imageId,
      })
    ).instance!.id;
  }

  liveBindings(knex: Knex = this.knex, boxId?: string) {
    const q = knex("cloud_box_bindings").whereNull("ended_at");
    if (boxId) q.where({ cloud_box_id: boxId });
    return q.select("*");
  }
}

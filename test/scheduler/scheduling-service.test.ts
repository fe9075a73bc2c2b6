import { expect } from "chai";
import { Code, type Client } from "@connectrpc/connect";
import {
  SchedulingOutcome,
  SchedulingService,
  type SchedulingRecord,
} from "../../gen/edgehub/admin/v1/scheduling_pb.js";
import { SchedulingPolicy } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { newId } from "../../hub/db/ids.js";
import { ResourceExhaustedError } from "../../hub/domain/errors.js";
import { placeInstance } from "../../hub/scheduler/place-instance.js";
import type { Placement, PlacementRequest } from "../../hub/scheduler/placement-request.js";
import { CatalogPeople, failure, PASSWORD } from "../catalog/catalog-fixtures.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { seedMachines, seedPool } from "./fleet-seed.js";

function req(poolId: string, over: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    instanceId: newId(),
    vmId: newId(),
    tenantId: newId(),
    computePoolId: poolId,
    rentalMode: "shared",
    cpuCores: 4,
    memoryGb: 8,
    storageGb: 50,
    gpuCount: 0,
    gpuModel: null,
    requiredLabels: {},
    affinityMachineId: null,
    ...over,
  };
}

describe("SchedulingService (scheduling history through the admin API)", function () {
  let t: TestHub;
  let admin: Client<typeof SchedulingService>;
  const placed: { request: PlacementRequest; placement: Placement }[] = [];
  const failedIds: string[] = [];
  let instanceWithRetries: string;

  before(async () => {
    t = await startTestHub();
    const knex = t.database.db.knex;
    const pool = await seedPool(knex, { name: "history", schedulingPolicy: "priority" });
    await seedMachines(knex, pool, 2, (i) => ({ cpuCores: 8, priority: i, labels: { rack: `r${i}` } }));
    instanceWithRetries = newId();
    for (let i = 0; i < 6; i++) {
      const r = req(pool.poolId, i >= 4 ? { instanceId: instanceWithRetries } : {});
      try {
        placed.push({ request: r, placement: await placeInstance(knex, r, async () => undefined) });
      } catch (err) {
        if (!(err instanceof ResourceExhaustedError)) throw err;
        failedIds.push(err.metadata.scheduling_history_id!);
      }
    }
    admin = t.client(SchedulingService, await t.adminToken());
  });
  after(async () => t?.stop());

  it("lists every attempt newest first, placed and failed, with what was asked and why machines said no", async () => {
    expect(placed).to.have.length(4);
    expect(failedIds).to.have.length(2);
    const { records } = await admin.listSchedulingRecords({});
    expect(records.map((r) => r.id)).to.deep.equal([
      ...failedIds.slice().reverse(),
      ...placed.map((p) => p.placement.historyId).reverse(),
    ]);
    const failed = records[0]!;
    expect(failed).to.deep.include({
      outcome: SchedulingOutcome.FAILED,
      policy: SchedulingPolicy.PRIORITY,
      candidatesConsidered: 2,
      chosenComputeMachineId: "",
      instanceId: instanceWithRetries,
      failureReason:
        'no machine in pool "history" has 4 free CPU cores, 8 GB memory and 50 GB storage (2 machines considered: 2 short of CPU)',
    });
    expect(failed.rejections.map((x) => [x.reason, x.machineCount])).to.deep.equal([["cpu", 2]]);
    expect(failed.demand).to.deep.include({ cpuCores: 4, memoryGb: 8, storageGb: 50, exclusive: false, gpuModel: "" });
    const first = records.at(-1)!;
    expect(first.outcome).to.equal(SchedulingOutcome.PLACED);
    // priority: the machine with priority 1 takes the first two.
    expect(first.chosenComputeMachineId).to.equal(placed[0]!.placement.computeMachineId);
    expect(first.failureReason).to.equal("");
  });

  it("filters by instance, outcome and machine", async () => {
    const byInstance = await admin.listSchedulingRecords({ instanceId: instanceWithRetries });
    expect(byInstance.records.map((r) => r.id)).to.deep.equal(failedIds.slice().reverse());
    const onlyPlaced = await admin.listSchedulingRecords({ outcome: SchedulingOutcome.PLACED });
    expect(onlyPlaced.records).to.have.length(4);
    const machine = placed[0]!.placement.computeMachineId;
    const onMachine = await admin.listSchedulingRecords({ computeMachineId: machine });
    expect(onMachine.records.map((r) => r.chosenComputeMachineId)).to.deep.equal([machine, machine]);
  });

  it("pages without gaps or repeats", async () => {
    const seen: SchedulingRecord[] = [];
    let pageToken = "";
    do {
      const page = await admin.listSchedulingRecords({ pageSize: 4, pageToken });
      expect(page.records.length).to.be.at.most(4);
      seen.push(...page.records);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen.map((r) => r.id)).to.deep.equal((await admin.listSchedulingRecords({})).records.map((r) => r.id));
  });

  it("gets one record and answers not_found for an id that names none", async () => {
    const id = placed[1]!.placement.historyId;
    const { record } = await admin.getSchedulingRecord({ id });
    expect(record?.vmId).to.equal(placed[1]!.request.vmId);
    const unknown = newId();
    const err = await failure(admin.getSchedulingRecord({ id: unknown }));
    expect(err.code).to.equal(Code.NotFound);
  });

  it("refuses malformed ids, outcomes and page tokens naming the field", async () => {
    expect((await failure(admin.getSchedulingRecord({ id: "nope" }))).rawMessage).to.contain("id");
    const cases: [Parameters<typeof admin.listSchedulingRecords>[0], string][] = [
      [{ instanceId: "x" }, "instance_id"],
      [{ computeMachineId: "x" }, "compute_machine_id"],
      [{ outcome: 9 as SchedulingOutcome }, "outcome"],
      [{ pageToken: "garbage" }, "page_token"],
    ];
    for (const [request, field] of cases) {
      const err = await failure(admin.listSchedulingRecords(request));
      expect(err.code, field).to.equal(Code.InvalidArgument);
      expect(err.rawMessage).to.contain(field);
    }
  });

  it("lets operators read and keeps tenant admins and users out", async () => {
    const people = new CatalogPeople(t.database.db.knex);
    const tenant = await people.tenant("acme");
    await people.user("op", "operator", null);
    await people.user("ta", "tenant_admin", tenant);
    await people.user("u", "user", tenant);
    const op = t.client(SchedulingService, await t.login("op", PASSWORD));
    expect((await op.listSchedulingRecords({})).records).to.have.length(6);
    for (const [name, tenantName] of [
      ["ta", "acme"],
      ["u", "acme"],
    ] as const) {
      const client = t.client(SchedulingService, await t.login(name, PASSWORD, tenantName));
      expect((await failure(client.listSchedulingRecords({}))).code).to.equal(Code.PermissionDenied);
      expect((await failure(client.getSchedulingRecord({ id: failedIds[0]! }))).code).to.equal(Code.PermissionDenied);
    }
  });

  it("answers reads over HTTP GET, as curl would send them", async () => {
    const token = await t.adminToken();
    const message = encodeURIComponent(JSON.stringify({ outcome: "SCHEDULING_OUTCOME_FAILED" }));
    const res = await fetch(
      `${t.baseUrl}/edgehub.admin.v1.SchedulingService/ListSchedulingRecords?connect=v1&encoding=json&message=${message}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { records: { id: string; outcome: string }[] };
    expect(body.records.map((r) => r.id)).to.deep.equal(failedIds.slice().reverse());
    expect(body.records[0]!.outcome).to.equal("SCHEDULING_OUTCOME_FAILED");
  });
});

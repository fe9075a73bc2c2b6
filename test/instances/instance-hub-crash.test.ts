import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { create } from "@bufbuild/protobuf";
import { AgentStatus, CommandState, FleetService, MachineType } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { InstanceService, InstanceStatus } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { TenantService } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { CommandPayloadSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import { spawnHub, type HubProcess } from "../support/hub-process.js";
import { libvirtTestDriverUsable } from "../support/libvirt-backends.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import { createScratchPostgres, selectedBackend } from "../support/test-database.js";
import { disposeAgents, spawnAgent, waitFor, type AgentProcess } from "../fleet/support/agent-process.js";
import { adminClientsFor, freePort } from "../fleet/support/hub-admin.js";
import { sha256, uploadContent } from "../image-content/upload-support.js";

const PASSWORD = "hub-crash-instance-password";
/** Waits end on events; this only bounds them (a restarted hub under load takes its time). */
const DEADLINE_MS = 240_000;

/**
 * DESIGN.md "desired state, not fire-and-forget": the hub is SIGKILLed right after StartInstance
 * answered (the placement is committed, the reconciler's agent commands are at most queued), and
 * the instance converges after a restart on the same database, with one domain on the agent.
 */
describe("an instance start survives a hub killed in the middle (real hub and agent processes)", function () {
  this.timeout(600_000);
  let dir: string;
  let scratch: { url: string; drop(): Promise<void> } | undefined;
  let hub: HubProcess | undefined;
  let agent: AgentProcess | undefined;
  let grpcPort: number;

  before(async function () {
    skipUnlessBackend(this, libvirtTestDriverUsable(), "libvirt.so.0 and qemu-img");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-inst-crash-"));
    if (selectedBackend() === "postgres") scratch = await createScratchPostgres({ migrated: true });
    grpcPort = await freePort();
  });
  after(async () => {
    if (agent) await disposeAgents([agent]);
    if (hub && hub.proc.exitCode === null && hub.proc.signalCode === null) await hub.signal("SIGKILL");
    await scratch?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const startHub = () =>
    spawnHub({
      args: [
        "--data-dir",
        path.join(dir, "hub"),
        "--host",
        "127.0.0.1",
        "--http-port",
        "0",
        "--grpc-port",
        String(grpcPort),
        "--heartbeat-interval",
        "500",
        "--restart-grace",
        "3000",
        "--instance-network",
        "none",
      ],
      env: { HUB_ADMIN_PASSWORD: PASSWORD, ...(scratch ? { DATABASE_URL: scratch.url } : {}) },
    });

  const clientsOf = (h: HubProcess) => adminClientsFor(h.httpPort, PASSWORD);

  it("converges to running after the restart, with exactly one domain for the instance on the agent", async () => {
    hub = await startHub();
    let api = await clientsOf(hub);
    const fleet = api.client(FleetService);
    const { edgeDataCenter } = await fleet.createEdgeDataCenter({ edgeDataCenter: { name: "crash-dc" } });
    const { computePool } = await fleet.createComputePool({ computePool: { name: "crash-pool" } });
    const { token: joinToken } = await fleet.createJoinToken({
      role: AgentRole.COMPUTE,
      edgeDataCenterId: edgeDataCenter!.id,
      computePoolId: computePool!.id,
      maxUses: 1,
      ttlSeconds: 600,
      machineType: MachineType.UNSPECIFIED,
    });
    agent = spawnAgent({
      hub: `127.0.0.1:${grpcPort}`,
      joinToken,
      role: "compute",
      hostname: "crash-compute",
      extraArgs: [
        "--libvirt-uri",
        "test:///default",
        "--instance-dir",
        path.join(dir, "instances"),
        "--image-cache-dir",
        path.join(dir, "cache"),
        "--image-cache-gb",
        "1",
      ],
    });
    const agentId = await waitFor(
      "the compute agent connected",
      async () => {
        const a = (await fleet.listAgents({})).agents.find((x) => x.status === AgentStatus.CONNECTED);
        return a?.id;
      },
      DEADLINE_MS,
    );

    const images = api.client(ImageService);
    const imageId = (
      await images.createImage({
        image: { name: "crash-image", imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC },
      })
    ).image!.id;
    const versionId = (await images.publishImageVersion({ imageId, versionNumber: "v1.0.0" })).version!.id;
    const base = path.join(dir, "base.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", base, "64M"]);
    const bytes = fs.readFileSync(base);
    const up = await uploadContent(api.baseUrl, versionId, bytes, { token: api.token, sha256: sha256(bytes) });
    expect(up.status, JSON.stringify(up.body)).to.be.oneOf([200, 201]);
    const tenant = (await api.client(TenantService).createTenant({ name: "crash-tenant" })).tenant!;
    const owner = (
      await api
        .client(UserService)
        .createUser({ tenantId: tenant.id, username: "crash-owner", password: "crash-owner-password", role: Role.USER })
    ).user!;
    const instances = api.client(InstanceService);
    const instance = (
      await instances.createInstance({
        instance: { name: "crash-desktop", userId: owner.id, cpuCores: 1, memoryGb: 1, storageGb: 1 },
        imageId,
      })
    ).instance!;

    // Start, and kill the hub the moment it answers: the placement is committed, the rest is not.
    await instances.startInstance({ id: instance.id, computePoolId: computePool!.id });
    await hub.signal("SIGKILL");

    hub = await startHub();
    api = await clientsOf(hub);
    const after = api.client(InstanceService);
    const running = await waitFor(
      "the instance running after the restart",
      async () => {
        const i = (await after.getInstance({ id: instance.id })).instance!;
        return i.status === InstanceStatus.RUNNING ? i : undefined;
      },
      DEADLINE_MS,
    );
    expect(running.virtualMachineId).to.not.equal("");

    // What the agent has: one domain for this instance, the VM the hub knows.
    const { command } = await api.client(FleetService).runDiagnostic({
      agentId,
      payload: create(CommandPayloadSchema, { kind: { case: "listDomains", value: {} } }),
      deadlineSeconds: 120,
    });
    const listed = await waitFor(
      "the domain listing",
      async () => {
        const c = (await api.client(FleetService).getCommand({ id: command!.id })).command!;
        return c.state === CommandState.SUCCEEDED ? c : undefined;
      },
      DEADLINE_MS,
    );
    const domains = listed.result?.kind.case === "domains" ? listed.result.kind.value.domains : [];
    const mine = domains.filter((d) => d.instanceId === instance.id);
    expect(mine.map((d) => d.uuid)).to.deep.equal([running.virtualMachineId]);
  });
});

import { expect } from "chai";
import { Code, ConnectError } from "@connectrpc/connect";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { InstanceService } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { InstanceSetService, InstanceSetType } from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import { TemplateService, TemplateUseCase } from "../../gen/edgehub/admin/v1/template_pb.js";
import { TenantService } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { UserService, UserStatus } from "../../gen/edgehub/admin/v1/user_pb.js";
import { UserGroupService } from "../../gen/edgehub/admin/v1/user_group_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { loadAdminApi } from "../../edgehubctl/admin-services.js";
import { kindColumns } from "../../edgehubctl/kind-columns.js";
import { resourceKinds, type ResourceKind } from "../../edgehubctl/resource-kinds.js";
import { EXIT } from "../../edgehubctl/exit-codes.js";
import { createCtlHome, type CtlHome } from "../support/edgehubctl-process.js";
import { startTestHub, TEST_ADMIN_PASSWORD, type TestHub } from "../support/test-hub.js";

const MISSING_ID = "01a22be4-0000-7000-8000-000000000000";

describe("edgehubctl: resource commands against a real hub", function () {
  // Every run of the binary starts Node with tsx (about 1.5 s of CPU): on a loaded machine a test
  // running several can pass mocha\'s default 60 s, so these tests get more room (no timing asserted).
  this.timeout(180_000);
  let t: TestHub;
  let home: CtlHome;
  let kinds: ResourceKind[];
  let token: string;
  let adminId: string;
  let imageId: string;
  let templateId: string;
  let groupId: string;
  let setId: string;
  let instanceId: string;
  const ctl = (...args: string[]) => home.run(args);

  before(async () => {
    t = await startTestHub();
    home = createCtlHome();
    kinds = resourceKinds((await loadAdminApi()).services);
    token = await t.adminToken();
    adminId = (await t.client(UserService, token).listUsers({})).users[0]!.id;
    const images = t.client(ImageService, token);
    imageId = (
      await images.createImage({
        image: { name: "img-ubuntu", imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC },
      })
    ).image!.id;
    await images.publishImageVersion({ imageId, versionNumber: "v1.0.0" });
    templateId = (
      await t.client(TemplateService, token).createTemplate({
        template: {
          config: {
            name: "dev-box",
            useCase: TemplateUseCase.DEVELOPMENT,
            baseImageId: imageId,
            defaultCpuCores: 4,
            defaultMemoryGb: 8,
            defaultStorageGb: 100,
          },
        },
      })
    ).template!.id;
    const tenant = (await t.client(TenantService, token).createTenant({ name: "acme", description: "ACME" })).tenant!;
    groupId = (await t.client(UserGroupService, token).createUserGroup({ tenantId: tenant.id, name: "designers" }))
      .group!.id;
    // An instance to read the events of (ListInstanceEvents names its instance).
    const owner = (
      await t.client(UserService, token).createUser({
        tenantId: tenant.id,
        username: "ctl-owner",
        password: "a-long-enough-pass",
        role: Role.USER,
      })
    ).user!;
    instanceId = (
      await t.client(InstanceService, token).createInstance({
        instance: { name: "ctl-desktop", userId: owner.id, cpuCores: 1, memoryGb: 1, storageGb: 20 },
        imageId,
      })
    ).instance!.id;
    // A set to list the instances and members of (both List calls name their set).
    setId = (
      await t.client(InstanceSetService, token).createInstanceSet({
        instanceSet: { name: "ctl-class", setType: InstanceSetType.TRAINING, ownerId: owner.id },
      })
    ).instanceSet!.id;
    const login = await home.run(["login", "--hub", t.baseUrl, "--password-stdin"], `${TEST_ADMIN_PASSWORD}\n`);
    expect(login.code, login.stderr).to.equal(0);
  });
  after(async () => {
    home?.remove();
    await t?.stop();
  });

  it("prints a table with the descriptor's columns for every kind it can read (in process: one run per kind)", async () => {
    // Parents for the kinds whose List or Get needs one (typed filter fields in their requests).
    const needs: Record<string, string[]> = {
      "image-version": ["--image-id", imageId],
      "image-tag": ["--image-id", imageId],
      "image-requirements": ["--image-id", imageId],
      "template-version": ["--template-id", templateId],
      "group-member": ["--group-id", groupId],
      "instance-event": ["--instance-id", instanceId],
      "instance-disk": ["--instance-id", instanceId],
      "instance-set-instance": ["--instance-set-id", setId],
      "instance-set-member": ["--instance-set-id", setId],
      quota: [
        "--holder-type",
        "tenant",
        "--holder-id",
        (await t.client(TenantService, token).listTenants({})).tenants[0]!.id,
      ],
    };
    const readable = kinds.filter((k) => k.list ?? k.get);
    expect(readable.map((k) => k.name)).to.include.members([
      "agent",
      "command",
      "image",
      "join-token",
      "tenant",
      "user",
      "user-group",
      "template",
      "audit-log",
    ]);
    const results = await Promise.all(
      readable.map((k) => home.runInProcess(["get", k.name, ...(needs[k.name] ?? [])])),
    );
    // Every kind that cannot be read, named at once.
    const unreadable = readable.flatMap((kind, i) =>
      results[i]!.code === 0 ? [] : [`get ${kind.name}: ${results[i]!.stderr.trim()}`],
    );
    expect(unreadable).to.deep.equal([]);
    readable.forEach((kind, i) => {
      const r = results[i]!;
      const header = r.stdout
        .split("\n")[0]!
        .trim()
        .split(/\s{3,}/);
      expect(header, `columns of ${kind.name}`).to.deep.equal(kindColumns(kind.resource, false).map((c) => c.header));
    });
    const users = results[readable.findIndex((k) => k.name === "user")]!.stdout;
    expect(users).to.match(new RegExp(`^${adminId}\\s+admin\\s+ADMIN\\s+ACTIVE\\s+\\d+[smhd]$`, "m"));
    expect(results[readable.findIndex((k) => k.name === "image-version")]!.stdout).to.match(/\sv1\.0\.0\s/);
  });

  it("walks the first-agent sequence: site create, pool create, token create prints the agent command", async () => {
    const site = await ctl("site", "create", "--name", "lab-1", "--location", "Building 4", "-o", "json");
    expect(site.code, site.stderr).to.equal(0);
    const siteId = (JSON.parse(site.stdout) as { id: string }).id;
    const pool = await ctl("pool", "create", "--name", "gpu-pool", "-o", "json");
    expect(pool.code, pool.stderr).to.equal(0);
    const poolId = (JSON.parse(pool.stdout) as { id: string }).id;
    const tok = await ctl(
      "token",
      "create",
      "--role",
      "compute",
      "--site",
      siteId,
      "--pool",
      poolId,
      "--agent-hub",
      "hub.lab:9443",
    );
    expect(tok.code, tok.stderr).to.equal(0);
    expect(tok.stdout).to.match(/^ID\s+ROLE\s+MACHINE_TYPE\s+MAX_USES\s+USE_COUNT\s+AGE$/m);
    const agentLine = /^ {2}edgehub-agent --hub hub\.lab:9443 --join-token (\S+)$/m.exec(tok.stdout);
    expect(agentLine, tok.stdout).to.not.equal(null);
    expect(tok.stdout).to.include(`Join token (shown once): ${agentLine![1]}`);
    const [tokens, agents] = await Promise.all([ctl("get", "tokens", "-o", "yaml"), ctl("get", "agents")]);
    expect(tokens.stdout).to.include(`edgeDataCenterId: ${siteId}`).and.include("role: AGENT_ROLE_COMPUTE");
    expect(agents.code).to.equal(0);
    expect(agents.stdout.trim()).to.match(/^ID\s+HOSTNAME\s+ROLE\s+STATUS/);
  });

  it("round-trips -o json into create -f, and update -f changes only what differs (a stale etag is exit 5)", async () => {
    const tenants = t.client(TenantService, token);
    const acme = (
      await tenants.createTenant({ name: "round-trip", description: "Original", quota: { maxCpuCores: 16 } })
    ).tenant!;
    const read = await ctl("get", "tenant", acme.id, "-o", "json");
    expect(read.code, read.stderr).to.equal(0);
    const doc = JSON.parse(read.stdout) as Record<string, unknown>;
    expect(doc).to.include({ id: acme.id, name: "round-trip", status: "TENANT_STATUS_ACTIVE" });
    const copy = await home.run(
      ["create", "tenant", "-f", "-", "-o", "json"],
      JSON.stringify({ ...doc, name: "round-trip-copy" }),
    );
    expect(copy.code, copy.stderr).to.equal(0);
    const created = JSON.parse(copy.stdout) as { id: string; description: string; quota: unknown };
    expect(created.id).to.not.equal(acme.id);
    expect(created).to.deep.include({ description: "Original", quota: { maxCpuCores: 16 } });

    const yaml = (await ctl("get", "tenant", acme.id, "-o", "yaml")).stdout;
    const edited = yaml.replace("description: Original", "description: Edited");
    const updated = await home.run(["update", "tenant", "-f", "-", "-o", "json"], edited);
    expect(updated.code, updated.stderr).to.equal(0);
    expect(JSON.parse(updated.stdout)).to.include({ description: "Edited", name: "round-trip" });
    const stale = await home.run(
      ["update", "tenant", "-f", "-"],
      edited.replace("description: Edited", "description: Stale"),
    );
    expect(stale.code).to.equal(EXIT.CONFLICT);
    expect(stale.stderr)
      .to.match(/^Error: aborted: .+$/m)
      .and.match(/^ {2}reason: ETAG_MISMATCH/m);
    expect((await tenants.getTenant({ id: acme.id })).tenant!.description).to.equal("Edited");
  });

  it("asks before deleting: no keeps it (exit 1), yes deletes it", async () => {
    const tenants = t.client(TenantService, token);
    const doomed = (await tenants.createTenant({ name: "doomed" })).tenant!;
    const no = await home.run(["delete", "tenant", doomed.id], "n\n");
    expect(no.code).to.equal(EXIT.FAILURE);
    expect(no.stderr).to.include(`Delete tenant ${doomed.id}? [y/N]`).and.include("Nothing deleted");
    expect((await tenants.getTenant({ id: doomed.id })).tenant!.id).to.equal(doomed.id);
    const yes = await home.run(["delete", "tenant", doomed.id], "y\n");
    expect(yes.code, yes.stderr).to.equal(0);
    expect(yes.stdout).to.include(`deleted tenant ${doomed.id}`);
    const gone = await tenants.getTenant({ id: doomed.id }).catch((e: unknown) => e);
    expect(gone).to.be.instanceOf(ConnectError);
    expect((gone as ConnectError).code).to.equal(Code.NotFound);
  });

  it("runs a batch with a line per item and a table of failures, exiting with the failures' code", async () => {
    const users = t.client(UserService, token);
    const ids = await Promise.all(
      ["batch-1", "batch-2"].map(
        async (u) =>
          (await users.createUser({ username: u, password: "a-long-enough-pass", role: Role.OPERATOR })).user!.id,
      ),
    );
    const r = await ctl("delete", "users", ...ids, MISSING_ID, "--yes", "--no-progress");
    expect(r.code).to.equal(EXIT.NOT_FOUND);
    for (const id of ids) expect(r.stdout).to.include(`✓ deleted user ${id}`);
    expect(r.stderr).to.include(`✗ user ${MISSING_ID}: not_found:`);
    expect(r.stderr).to.include("2 of 3 done, 1 failed:");
    expect(r.stderr).to.match(new RegExp(`^ITEM\\s+CODE\\s+MESSAGE\\nuser ${MISSING_ID}\\s+not_found\\s+\\S`, "m"));
    expect((await users.listUsers({ usernameContains: "batch-" })).users).to.deep.equal([]);
  });

  it("draws a progress bar for a batch on a terminal, and plain lines with --no-progress", async () => {
    const users = t.client(UserService, token);
    const ids = await Promise.all(
      ["bar-1", "bar-2", "bar-3"].map(
        async (u) =>
          (await users.createUser({ username: u, password: "a-long-enough-pass", role: Role.OPERATOR })).user!.id,
      ),
    );
    const withBar = home.runInPty(["user", "lock", ...ids]);
    expect(await withBar.exited).to.equal(0);
    expect(withBar.output()).to.match(/█+ 3\/3 /);
    for (const id of ids) expect(withBar.output()).to.include(`✓ lock user ${id}: LOCKED`);
    const plain = home.runInPty(["user", "unlock", ...ids, "--no-progress"]);
    expect(await plain.exited).to.equal(0);
    expect(plain.output()).to.not.match(/[█░]|\x1b\[/);
    for (const id of ids) expect(plain.output()).to.include(`✓ unlock user ${id}: ACTIVE`);
    expect(plain.output()).to.include("3 of 3 done");
  });

  it("prints the error code, message, field violations and reason one per line, with an exit code per class", async () => {
    const [invalid, missing, own, unknownKind, badEnum] = await Promise.all([
      ctl("create", "user", "--username", "shorty", "--password", "short", "--role", "operator"),
      ctl("get", "user", MISSING_ID),
      ctl("user", "disable", adminId),
      // Usage errors never reach the hub: the same program in process is enough for them.
      home.runInProcess(["get", "spaceships"]),
      home.runInProcess(["get", "users", "--status", "sleepy"]),
    ]);
    expect(invalid.code).to.equal(EXIT.USAGE);
    expect(invalid.stderr)
      .to.match(/^Error: invalid_argument: .*password.*$/m)
      .and.match(/^ {2}field password: .+$/m);
    expect(missing.code).to.equal(EXIT.NOT_FOUND);
    expect(missing.stderr).to.match(new RegExp(`^Error: not_found: .*${MISSING_ID}`, "m"));
    expect(own.code).to.equal(EXIT.CONFLICT);
    expect(own.stderr)
      .to.match(/^Error: failed_precondition: .+$/m)
      .and.match(/^ {2}reason: OWN_ACCOUNT/m);
    expect(unknownKind.code).to.equal(EXIT.USAGE);
    expect(unknownKind.stderr).to.include("unknown command 'spaceships'");
    expect(badEnum.code).to.equal(EXIT.USAGE);
    expect(badEnum.stderr).to.include('Invalid value for --status: "sleepy" (one of active, inactive, locked)');
  });

  it("refuses what the role may not do with exit 4, through a second named context", async () => {
    const tenant = (await t.client(TenantService, token).createTenant({ name: "contoso" })).tenant!;
    await t
      .client(UserService, token)
      .createUser({ tenantId: tenant.id, username: "carol", password: "a-long-enough-pass", role: Role.USER });
    const login = await home.run(
      [
        "login",
        "--hub",
        t.baseUrl,
        "--username",
        "carol",
        "--tenant",
        "contoso",
        "--name",
        "carol",
        "--password-stdin",
      ],
      "a-long-enough-pass\n",
    );
    expect(login.code, login.stderr).to.equal(0);
    try {
      const denied = await ctl("create", "tenant", "--name", "not-allowed");
      expect(denied.code).to.equal(EXIT.PERMISSION);
      expect(denied.stderr).to.match(/^Error: permission_denied: /m);
      const asAdmin = await ctl("--context", new URL(t.baseUrl).host, "whoami");
      expect(asAdmin.stdout).to.match(/^admin\s+ADMIN/m);
    } finally {
      expect((await ctl("config", "use-context", new URL(t.baseUrl).host)).code).to.equal(0);
    }
  });

  it("--watch prints a resource again when the hub changes its status", async () => {
    const users = t.client(UserService, token);
    const user = (await users.createUser({ username: "watched", password: "a-long-enough-pass", role: Role.OPERATOR }))
      .user!;
    const watch = home.start(["get", "users", "--username-contains", "watched", "--watch", "--watch-interval", "0.2"]);
    try {
      await watch.waitFor(new RegExp(`^${user.id}\\s+watched\\s+OPERATOR\\s+ACTIVE`, "m"));
      expect((await users.lockUser({ id: user.id })).user!.status).to.equal(UserStatus.LOCKED);
      await watch.waitFor(new RegExp(`^${user.id}\\s+watched\\s+OPERATOR\\s+LOCKED`, "m"));
    } finally {
      expect(await watch.stop()).to.equal(0);
    }
  });
});

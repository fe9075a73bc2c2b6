import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { ManualClock } from "../../lib/clock/clock.js";
import { ImageService } from "../../gen/edgehub/admin/v1/image_pb.js";
import { TemplateService } from "../../gen/edgehub/admin/v1/template_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TemplateConfigSchema } from "../../gen/edgehub/admin/v1/template_pb.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD, counts, failure, type TestUser } from "./catalog-fixtures.js";

type ConfigInit = MessageInitShape<typeof TemplateConfigSchema>;

describe("TemplateService: templates, access rules, versions", function () {
  let t: TestHub;
  const tokens = new Map<string, string>();
  let taA: TestUser, alice: TestUser, bob: TestUser, carol: TestUser, taB: TestUser;
  let admin: ReturnType<typeof t.client<typeof TemplateService>>;
  let ubuntuId: string;
  let platformImageId: string;
  const as = (u: TestUser) => t.client(TemplateService, tokens.get(u.username)!);
  const config = (over: Record<string, unknown> = {}): ConfigInit => ({
    name: "dev-box", useCase: "development", baseImageId: ubuntuId, defaultCpuCores: 4, defaultMemoryGb: 8, defaultStorageGb: 100,
    defaultBandwidthGbps: 5, networkConfig: { vpcId: "vpc-001", subnetId: "subnet-001" }, pricePerHour: 0.8, listed: true, ...over,
  }) as ConfigInit;

  before(async () => {
    t = await startTestHub({ clock: new ManualClock() });
    const people = new CatalogPeople(t.hub.db.knex);
    const a = await people.tenant("tenant-a");
    const b = await people.tenant("tenant-b");
    [taA, alice, bob, carol, taB] = [
      await people.user("ta-a", "tenant_admin", a), await people.user("alice", "user", a), await people.user("bob", "user", a),
      await people.user("carol", "user", b), await people.user("ta-b", "tenant_admin", b),
    ];
    await people.group(a.id, "designers", [taA, alice]);
    for (const u of [taA, alice, bob, carol, taB]) tokens.set(u.username, await t.login(u.username, PASSWORD, u.tenantName));
    const adminToken = await t.adminToken();
    admin = t.client(TemplateService, adminToken);
    const images = t.client(ImageService, adminToken);
    const img = await images.createImage({ name: "img-ubuntu-22.04", imageType: "os_base", visibility: "public", requirements: { minCpuCores: 2, minMemoryGb: 4, minStorageGb: 40, recommendedCpuCores: 4, recommendedMemoryGb: 8, recommendedStorageGb: 80 } });
    ubuntuId = img.image!.id;
    await images.publishImageVersion({ imageId: ubuntuId, versionNumber: "v1.0.0" });
    platformImageId = ubuntuId;
  });
  after(async () => t?.stop());

  it("creates a tenant template at v1.0.0 with its first version and audit row; names are unique per tenant", async () => {
    const res = await as(taA).createTemplate({ config: config(), visibility: "private" });
    expect(res.template).to.include({ version: "v1.0.0", status: "active", visibility: "private", tenantId: taA.tenantId, ownerId: taA.userId });
    expect(res.template!.config).to.include({ name: "dev-box", useCase: "development", defaultGpuCount: 0, gpuModel: "", pricePerHour: 0.8, listed: true });
    const versions = (await as(taA).listTemplateVersions({ templateId: res.template!.id })).versions;
    expect(versions.map((v) => [v.versionNumber, v.isLatest, v.changelog, v.createdBy])).to.deep.equal([["v1.0.0", true, "Initial version", taA.userId]]);
    expect(await t.hub.db.knex("audit_log").where({ action: "template.create", target_id: res.template!.id }).first()).to.not.equal(undefined);
    expect((await failure(as(taA).createTemplate({ config: config({ name: "DEV-BOX" }) }))).code).to.equal(Code.AlreadyExists);
    await as(taB).createTemplate({ config: config(), visibility: "public" }); // same name, other tenant: fine
  });

  it("rejects bad configurations naming the field and writes nothing", async () => {
    const before = await counts(t.hub.db.knex, ["templates", "template_versions", "audit_log"]);
    const cases: [Record<string, unknown>, string][] = [
      [{ useCase: "mining" }, "config.use_case"],
      [{ templateType: "cluster" }, "config.template_type"],
      [{ defaultCpuCores: 0 }, "default_cpu_cores"],
      [{ gpuModel: "A100" }, "gpu_model"],
      [{ baseImageId: "" }, "base_image_id"],
      [{ baseImageId: "0190f3c8-0000-7000-8000-000000000000" }, "base_image_id"],
      [{ pricePerHour: -1 }, "price_per_hour"],
      [{ name: "" }, "name"],
      [{ tags: { "bad key": "x" } }, "tags.bad key"],
      [{ templateType: "instance_set", instanceSet: { instanceCount: 3, instanceNamePattern: "web" } }, "instance_set.instance_name_pattern"],
      [{ templateType: "instance_set" }, "instance_set"],
    ];
    for (const [over, field] of cases) {
      const err = await failure(as(taA).createTemplate({ config: config({ name: "bad", ...over }) }));
      expect(err.code, field).to.equal(Code.InvalidArgument);
      expect(err.rawMessage, field).to.contain(`Invalid ${field}`);
    }
    const low = await failure(as(taA).createTemplate({ config: config({ name: "tiny", defaultCpuCores: 1, defaultStorageGb: 20 }) }));
    expect(low.code).to.equal(Code.FailedPrecondition);
    expect(low.rawMessage).to.equal("Cannot use image img-ubuntu-22.04: cpu_cores 1 is below the minimum 2 (recommended 4); storage_gb 20 is below the minimum 40 (recommended 80)");
    expect((await failure(as(alice).createTemplate({ config: config({ name: "alice-own" }) }))).code).to.equal(Code.PermissionDenied);
    expect(await counts(t.hub.db.knex, ["templates", "template_versions", "audit_log"])).to.deep.equal(before);
  });

  it("applies the access rules: private for the owner, group_specific for the owner's groups, tenant templates for the tenant only", async () => {
    const priv = (await as(taA).createTemplate({ config: config({ name: "private-one" }), visibility: "private" })).template!;
    const group = (await as(taA).createTemplate({ config: config({ name: "group-one" }), visibility: "group_specific" })).template!;
    const pub = (await as(taA).createTemplate({ config: config({ name: "public-one" }), visibility: "public" })).template!;
    const platform = (await admin.createTemplate({ config: config({ name: "platform-one", baseImageId: platformImageId }), visibility: "public" })).template!;
    expect((await failure(as(alice).getTemplate({ id: priv.id }))).code).to.equal(Code.NotFound);
    expect((await failure(as(bob).getTemplate({ id: priv.id }))).code).to.equal(Code.NotFound);
    expect((await as(alice).getTemplate({ id: group.id })).template!.config!.name).to.equal("group-one");
    expect((await failure(as(bob).getTemplate({ id: group.id }))).code).to.equal(Code.NotFound);
    expect((await failure(as(carol).getTemplate({ id: pub.id }))).code).to.equal(Code.NotFound);
    expect((await as(carol).getTemplate({ id: platform.id })).template!.tenantId).to.equal("");
    const names = async (u: TestUser) => (await as(u).listTemplates({})).templates.map((x) => x.config!.name).sort();
    expect(await names(alice)).to.deep.equal(["group-one", "platform-one", "public-one"]);
    expect(await names(bob)).to.deep.equal(["platform-one", "public-one"]);
    expect(await names(carol)).to.deep.equal(["dev-box", "platform-one"]);
    expect(await names(taA)).to.deep.equal(["dev-box", "group-one", "platform-one", "private-one", "public-one"]);
    // Management: the tenant's tenant_admin and admins; others' ids are not_found, users are refused.
    expect((await failure(as(taB).setTemplateStatus({ id: pub.id, status: "deprecated" }))).code).to.equal(Code.NotFound);
    expect((await failure(as(taA).setTemplateStatus({ id: platform.id, status: "deprecated" }))).code).to.equal(Code.PermissionDenied);
    expect((await failure(as(alice).deleteTemplate({ id: group.id }))).code).to.equal(Code.PermissionDenied);
    await admin.setTemplateStatus({ id: pub.id, status: "deprecated" });
    // Deprecated: still listed for those who see it, but no instance can be created from it.
    const use = await failure(as(bob).previewInstanceConfig({ templateId: pub.id }));
    expect(use.code).to.equal(Code.FailedPrecondition);
    expect(use.rawMessage).to.contain("it is deprecated; only active templates can create instances");
    await admin.setTemplateStatus({ id: pub.id, status: "archived" });
    expect((await failure(admin.setTemplateStatus({ id: pub.id, status: "active" }))).rawMessage).to.contain("it is archived");
  });

  it("versions every update with the full snapshot, changelog and creator; rollback makes an old snapshot the new latest", async () => {
    const tpl = (await as(taA).createTemplate({ config: config({ name: "versioned" }), visibility: "public" })).template!;
    const v1 = (await as(taA).listTemplateVersions({ templateId: tpl.id })).versions[0]!;
    const u1 = await as(taA).updateTemplate({ id: tpl.id, config: { defaultCpuCores: 8, defaultMemoryGb: 16 }, updateMask: { paths: ["default_cpu_cores", "default_memory_gb"] }, changelog: "bigger" });
    expect(u1.version).to.include({ versionNumber: "v1.0.1", isLatest: true, changelog: "bigger", createdBy: taA.userId });
    expect(u1.version!.configSnapshot).to.include({ defaultCpuCores: 8, defaultMemoryGb: 16, defaultStorageGb: 100, name: "versioned" });
    const u2 = await admin.updateTemplate({ id: tpl.id, config: { listed: false }, updateMask: { paths: ["listed"] }, versionNumber: "v2.0.0", visibility: "group_specific" });
    expect(u2.template).to.include({ version: "v2.0.0", visibility: "group_specific" });
    const older = await failure(as(taA).updateTemplate({ id: tpl.id, config: { listed: true }, updateMask: { paths: ["listed"] }, versionNumber: "v1.5.0" }));
    expect(older.rawMessage).to.equal("Invalid version_number: v1.5.0 must be newer than the latest version v2.0.0");
    expect((await failure(as(taA).updateTemplate({ id: tpl.id, updateMask: { paths: ["template_type"] } }))).rawMessage).to.contain("template_type");
    expect((await failure(as(taA).updateTemplate({ id: tpl.id, updateMask: { paths: ["owner_id"] } }))).rawMessage).to.contain("update_mask");
    const back = await as(taA).rollbackTemplate({ templateId: tpl.id, toVersionId: v1.id, changelog: "too big" });
    expect(back.version).to.include({ versionNumber: "v2.0.1", isLatest: true, changelog: "Rollback to v1.0.0: too big" });
    expect(back.template!.config).to.include({ defaultCpuCores: 4, defaultMemoryGb: 8, listed: true });
    const all = (await as(taA).listTemplateVersions({ templateId: tpl.id })).versions;
    expect(all.map((v) => `${v.versionNumber}${v.isLatest ? "*" : ""}`)).to.deep.equal(["v2.0.1*", "v2.0.0", "v1.0.1", "v1.0.0"]);
    // An instance can be made from a specific version or from the latest.
    expect((await as(taA).previewInstanceConfig({ templateId: tpl.id, templateVersionId: u1.version!.id })).config!.cpuCores).to.equal(8);
    expect((await as(taA).previewInstanceConfig({ templateId: tpl.id })).config!.cpuCores).to.equal(4);
    const audits = await t.hub.db.knex("audit_log").where({ target_id: tpl.id }).orderBy("at").pluck("action");
    expect(audits).to.deep.equal(["template.create", "template.update", "template.update", "template.rollback"]);
  });

  it("previews the instance config with the 000 §6.2.1 merge rules against real image versions", async () => {
    const tpl = (await admin.createTemplate({ config: config({ name: "merge-example" }), visibility: "public" })).template!;
    const images = t.client(ImageService, await t.adminToken());
    const version = (await images.publishImageVersion({ imageId: ubuntuId, versionNumber: "v1.1.0" })).version!;
    const res = await as(carol).previewInstanceConfig({ templateId: tpl.id, overrides: { cpuCores: 8, memoryGb: 16, imageVersionId: version.id } });
    expect(res.config).to.include({ imageId: ubuntuId, imageVersionId: version.id, cpuCores: 8, memoryGb: 16, storageGb: 100, bandwidthGbps: 5 });
    expect(res.config!.networkConfig).to.include({ vpcId: "vpc-001", subnetId: "subnet-001" });
    const defaulted = await as(carol).previewInstanceConfig({ templateId: tpl.id });
    expect(defaulted.config!.imageVersionId).to.not.equal(version.id); // the image's default version v1.0.0
    const other = await images.createImage({ name: "centos", imageType: "os_base", visibility: "public" });
    const otherVersion = (await images.publishImageVersion({ imageId: other.image!.id, versionNumber: "v1.0.0" })).version!;
    expect((await failure(as(carol).previewInstanceConfig({ templateId: tpl.id, overrides: { imageVersionId: otherVersion.id } }))).rawMessage).to.contain("Invalid image_version_id");
    expect((await failure(as(carol).previewInstanceConfig({ templateId: tpl.id, overrides: { imageId: other.image!.id } }))).rawMessage).to.contain("Invalid image_id: cannot be overridden");
    const short = await failure(as(carol).previewInstanceConfig({ templateId: tpl.id, overrides: { memoryGb: 2 } }));
    expect(short.code).to.equal(Code.FailedPrecondition);
    expect(short.rawMessage).to.contain("memory_gb 2 is below the minimum 4 (recommended 8)");
  });

  it("creates instance-set templates from visible instance templates", async () => {
    const member = (await as(taA).listTemplates({ nameContains: "dev-box" })).templates[0]!;
    const set = await as(taA).createTemplate({
      config: config({ name: "web-farm", templateType: "instance_set", useCase: "web_server", instanceSet: { instanceCount: 3, instanceNamePattern: "web-{i}", memberTemplateIds: [member.id], loadBalancerConfig: { algorithm: "round_robin" }, sharedStorageConfig: { size_gb: 500 } } }),
      visibility: "public",
    });
    expect(set.template!.config!.instanceSet).to.deep.include({ instanceCount: 3, instanceNamePattern: "web-{i}", memberTemplateIds: [member.id] });
    expect(set.template!.config!.instanceSet!.loadBalancerConfig).to.deep.equal({ algorithm: "round_robin" });
    const nested = await failure(as(taA).createTemplate({ config: config({ name: "farm-of-farms", templateType: "instance_set", instanceSet: { instanceCount: 2, instanceNamePattern: "f-{i}", memberTemplateIds: [set.template!.id] } }) }));
    expect(nested.rawMessage).to.contain("Invalid instance_set.member_template_ids[0]").and.contain("not an instance template");
    expect((await failure(as(taA).deleteTemplate({ id: member.id }))).rawMessage).to.contain("instance-set template web-farm uses it");
  });

  it("filters by use_case, type, status, visibility and listed, and paginates", async () => {
    const list = async (req: Parameters<typeof admin.listTemplates>[0]) => (await admin.listTemplates(req)).templates.map((x) => x.config!.name).sort();
    expect(await list({ useCase: "web_server" })).to.deep.equal(["web-farm"]);
    expect(await list({ templateType: "instance_set" })).to.deep.equal(["web-farm"]);
    expect(await list({ status: "archived" })).to.deep.equal(["public-one"]);
    expect(await list({ listed: false })).to.deep.equal([]);
    await admin.updateTemplate({ id: (await admin.listTemplates({ nameContains: "merge-example" })).templates[0]!.id, config: { listed: false }, updateMask: { paths: ["listed"] } });
    expect(await list({ listed: false })).to.deep.equal(["merge-example"]);
    // Unlisted (seed 002 下架): hidden from users' lists and not usable by them; managers still can.
    const hidden = (await admin.listTemplates({ nameContains: "merge-example" })).templates[0]!;
    expect((await as(carol).listTemplates({})).templates.map((x) => x.config!.name)).to.not.include("merge-example");
    expect((await failure(as(carol).previewInstanceConfig({ templateId: hidden.id }))).rawMessage).to.contain("it is not listed");
    expect((await admin.previewInstanceConfig({ templateId: hidden.id })).config!.cpuCores).to.equal(4);
    expect(await list({ visibility: "private", tenantId: taA.tenantId! })).to.deep.equal(["dev-box", "private-one"]);
    const all = await list({});
    const paged: string[] = [];
    let token = "";
    do {
      const page = await admin.listTemplates({ pageSize: 3, pageToken: token });
      paged.push(...page.templates.map((x) => x.config!.name));
      token = page.nextPageToken;
    } while (token);
    expect(paged.sort()).to.deep.equal(all);
    expect((await failure(admin.listTemplates({ useCase: "mining" }))).rawMessage).to.contain("Invalid use_case");
  });
});

import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { ManualClock } from "../../lib/clock/clock.js";
import {
  ImageService,
  ImageType,
  ImageVisibility,
  RequirementDimension,
  RequirementsNotMetSchema,
} from "../../gen/edgehub/admin/v1/image_pb.js";
import {
  TemplateService,
  TemplateStatus,
  TemplateType,
  TemplateUseCase,
  TemplateVisibility,
} from "../../gen/edgehub/admin/v1/template_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TemplateConfigSchema } from "../../gen/edgehub/admin/v1/template_pb.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
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
  const config = (over: Record<string, unknown> = {}): ConfigInit =>
    ({
      name: "dev-box",
      useCase: TemplateUseCase.DEVELOPMENT,
      baseImageId: ubuntuId,
      defaultCpuCores: 4,
      defaultMemoryGb: 8,
      defaultStorageGb: 100,
      defaultBandwidthGbps: 5,
      networkConfig: { vpcId: "vpc-001", subnetId: "subnet-001" },
      pricePerHour: 0.8,
      listed: true,
      ...over,
    }) as ConfigInit;

  before(async () => {
    t = await startTestHub({ clock: new ManualClock() });
    const people = new CatalogPeople(t.hub.db.knex);
    const a = await people.tenant("tenant-a");
    const b = await people.tenant("tenant-b");
    [taA, alice, bob, carol, taB] = [
      await people.user("ta-a", "tenant_admin", a),
      await people.user("alice", "user", a),
      await people.user("bob", "user", a),
      await people.user("carol", "user", b),
      await people.user("ta-b", "tenant_admin", b),
    ];
    await people.group(a.id, "designers", [taA, alice]);
    for (const u of [taA, alice, bob, carol, taB])
      tokens.set(u.username, await t.login(u.username, PASSWORD, u.tenantName));
    const adminToken = await t.adminToken();
    admin = t.client(TemplateService, adminToken);
    const images = t.client(ImageService, adminToken);
    const img = await images.createImage({
      image: { name: "img-ubuntu-22.04", imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC },
      requirements: {
        minCpuCores: 2,
        minMemoryGb: 4,
        minStorageGb: 40,
        recommendedCpuCores: 4,
        recommendedMemoryGb: 8,
        recommendedStorageGb: 80,
      },
    });
    ubuntuId = img.image!.id;
    await images.publishImageVersion({ imageId: ubuntuId, versionNumber: "v1.0.0" });
    platformImageId = ubuntuId;
  });
  after(async () => t?.stop());

  it("creates a tenant template at v1.0.0 with its first version and audit row; names are unique per tenant", async () => {
    const res = await as(taA).createTemplate({
      template: { config: config(), visibility: TemplateVisibility.PRIVATE },
    });
    expect(res.template).to.include({
      latestVersionNumber: "v1.0.0",
      status: TemplateStatus.ACTIVE,
      visibility: TemplateVisibility.PRIVATE,
      tenantId: taA.tenantId,
      ownerId: taA.userId,
    });
    expect(res.template!.config).to.include({
      name: "dev-box",
      useCase: TemplateUseCase.DEVELOPMENT,
      templateType: TemplateType.INSTANCE,
      defaultGpuCount: 0,
      gpuModel: "",
      pricePerHour: 0.8,
      listed: true,
    });
    const versions = (await as(taA).listTemplateVersions({ templateId: res.template!.id })).versions;
    expect(versions.map((v) => [v.versionNumber, v.isLatest, v.changelog, v.creatorId])).to.deep.equal([
      ["v1.0.0", true, "Initial version", taA.userId],
    ]);
    expect((await as(taA).getTemplateVersion({ id: versions[0]!.id })).version!.configSnapshot!.name).to.equal(
      "dev-box",
    );
    expect(
      (await failure(as(carol).getTemplateVersion({ id: versions[0]!.id }))).code,
      "another tenant's version",
    ).to.equal(Code.NotFound);
    expect(
      await t.hub.db.knex("audit_log").where({ action: "template.create", target_id: res.template!.id }).first(),
    ).to.not.equal(undefined);
    expect(
      (await failure(as(taA).createTemplate({ template: { config: config({ name: "DEV-BOX" }) } }))).code,
    ).to.equal(Code.AlreadyExists);
    await as(taB).createTemplate({ template: { config: config(), visibility: TemplateVisibility.PUBLIC } }); // same name, other tenant: fine
  });

  it("rejects bad configurations naming the field and writes nothing", async () => {
    const before = await counts(t.hub.db.knex, ["templates", "template_versions", "audit_log"]);
    const cases: [Record<string, unknown>, string][] = [
      [{ useCase: 99 }, "template.config.use_case"],
      [{ templateType: 5 }, "template.config.template_type"],
      [{ defaultCpuCores: 0 }, "template.config.default_cpu_cores"],
      [{ gpuModel: "A100" }, "template.config.gpu_model"],
      [{ baseImageId: "" }, "template.config.base_image_id"],
      [{ baseImageId: "img-1" }, "template.config.base_image_id"],
      [{ baseImageId: "0190f3c8-0000-7000-8000-000000000000" }, "template.config.base_image_id"],
      [{ pricePerHour: -1 }, "template.config.price_per_hour"],
      [{ name: "" }, "template.config.name"],
      [{ tags: { "bad key": "x" } }, "template.config.tags.bad key"],
      [
        { templateType: TemplateType.INSTANCE_SET, instanceSet: { instanceCount: 3, instanceNamePattern: "web" } },
        "template.config.instance_set.instance_name_pattern",
      ],
      [{ templateType: TemplateType.INSTANCE_SET }, "template.config.instance_set"],
    ];
    for (const [over, field] of cases) {
      const err = await failure(as(taA).createTemplate({ template: { config: config({ name: "bad", ...over }) } }));
      expect(err.code, field).to.equal(Code.InvalidArgument);
      expect(err.rawMessage, field).to.contain(`Invalid ${field}`);
      expect(violatedFields(err), field).to.deep.equal([field]);
    }
    expect(
      violatedFields(
        await failure(
          as(taA).createTemplate({
            template: { config: config({ name: "bad" }), visibility: 7 as TemplateVisibility },
          }),
        ),
      ),
    ).to.deep.equal(["template.visibility"]);
    const low = await failure(
      as(taA).createTemplate({
        template: { config: config({ name: "tiny", defaultCpuCores: 1, defaultStorageGb: 20 }) },
      }),
    );
    expect(low.code).to.equal(Code.FailedPrecondition);
    expect(low.rawMessage).to.equal(
      "Cannot use image img-ubuntu-22.04: cpu_cores 1 is below the minimum 2 (recommended 4); storage_gb 20 is below the minimum 40 (recommended 80)",
    );
    // The enforced check carries its reason and the shortfalls as a typed detail.
    expect(errorReasons(low)).to.deep.equal(["IMAGE_REQUIREMENTS_NOT_MET"]);
    const [detail] = low.findDetails(RequirementsNotMetSchema);
    expect(detail!.shortfalls.map((x) => [x.dimension, x.requested, x.minimum, x.recommended])).to.deep.equal([
      [RequirementDimension.CPU_CORES, 1, 2, 4],
      [RequirementDimension.STORAGE_GB, 20, 40, 80],
    ]);
    expect(
      (await failure(as(alice).createTemplate({ template: { config: config({ name: "alice-own" }) } }))).code,
    ).to.equal(Code.PermissionDenied);
    expect(await counts(t.hub.db.knex, ["templates", "template_versions", "audit_log"])).to.deep.equal(before);
  });

  it("applies the access rules: private for the owner, group_specific for the owner's groups, tenant templates for the tenant only", async () => {
    const create = (name: string, visibility: TemplateVisibility, extra: Record<string, unknown> = {}) => ({
      template: { config: config({ name, ...extra }), visibility },
    });
    const priv = (await as(taA).createTemplate(create("private-one", TemplateVisibility.PRIVATE))).template!;
    const group = (await as(taA).createTemplate(create("group-one", TemplateVisibility.GROUP_SPECIFIC))).template!;
    const pub = (await as(taA).createTemplate(create("public-one", TemplateVisibility.PUBLIC))).template!;
    const platform = (
      await admin.createTemplate(create("platform-one", TemplateVisibility.PUBLIC, { baseImageId: platformImageId }))
    ).template!;
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
    expect((await failure(as(taB).deprecateTemplate({ id: pub.id }))).code).to.equal(Code.NotFound);
    expect((await failure(as(taA).deprecateTemplate({ id: platform.id }))).code).to.equal(Code.PermissionDenied);
    expect((await failure(as(alice).deleteTemplate({ id: group.id }))).code).to.equal(Code.PermissionDenied);
    expect((await admin.deprecateTemplate({ id: pub.id })).template!.status).to.equal(TemplateStatus.DEPRECATED);
    // Deprecated: still listed for those who see it, but no instance can be created from it.
    const use = await failure(as(bob).previewInstanceConfig({ templateId: pub.id }));
    expect(use.code).to.equal(Code.FailedPrecondition);
    expect(use.rawMessage).to.contain("it is deprecated; only active templates can create instances");
    expect(errorReasons(use)).to.deep.equal(["TEMPLATE_NOT_ACTIVE"]);
    await admin.activateTemplate({ id: pub.id });
    await admin.deprecateTemplate({ id: pub.id });
    await admin.archiveTemplate({ id: pub.id });
    const back = await failure(admin.activateTemplate({ id: pub.id }));
    expect(back.rawMessage).to.contain("it is archived");
    expect(errorReasons(back)).to.deep.equal(["TEMPLATE_ARCHIVED"]);
    const actions = await t.hub.db.knex("audit_log").where({ target_id: pub.id }).orderBy("at").pluck("action");
    expect(actions).to.deep.equal([
      "template.create",
      "template.deprecate",
      "template.activate",
      "template.deprecate",
      "template.archive",
    ]);
  });

  it("versions every update with the full snapshot, changelog and creator; rollback makes an old snapshot the new latest", async () => {
    const tpl = (
      await as(taA).createTemplate({
        template: { config: config({ name: "versioned" }), visibility: TemplateVisibility.PUBLIC },
      })
    ).template!;
    const v1 = (await as(taA).listTemplateVersions({ templateId: tpl.id })).versions[0]!;
    const u1 = await as(taA).updateTemplate({
      template: { id: tpl.id, config: { defaultCpuCores: 8, defaultMemoryGb: 16 } },
      updateMask: { paths: ["config.default_cpu_cores", "config.default_memory_gb"] },
      changelog: "bigger",
    });
    expect(u1.version).to.include({
      versionNumber: "v1.0.1",
      isLatest: true,
      changelog: "bigger",
      creatorId: taA.userId,
    });
    expect(u1.version!.configSnapshot).to.include({
      defaultCpuCores: 8,
      defaultMemoryGb: 16,
      defaultStorageGb: 100,
      name: "versioned",
    });
    const u2 = await admin.updateTemplate({
      template: { id: tpl.id, config: { listed: false }, visibility: TemplateVisibility.GROUP_SPECIFIC },
      updateMask: { paths: ["config.listed", "visibility"] },
      versionNumber: "v2.0.0",
    });
    expect(u2.template).to.include({ latestVersionNumber: "v2.0.0", visibility: TemplateVisibility.GROUP_SPECIFIC });
    // Visibility alone is not part of a version: no new version.
    const vis = await admin.updateTemplate({
      template: { id: tpl.id, visibility: TemplateVisibility.PUBLIC, etag: u2.template!.etag },
      updateMask: { paths: ["visibility"] },
    });
    expect(vis.template).to.include({ latestVersionNumber: "v2.0.0", visibility: TemplateVisibility.PUBLIC });
    expect(vis.version!.id).to.equal(u2.version!.id);
    const older = await failure(
      as(taA).updateTemplate({
        template: { id: tpl.id, config: { listed: true } },
        updateMask: { paths: ["config.listed"] },
        versionNumber: "v1.5.0",
      }),
    );
    expect(older.rawMessage).to.equal("Invalid version_number: v1.5.0 must be newer than the latest version v2.0.0");
    const typeChange = await failure(
      as(taA).updateTemplate({ template: { id: tpl.id }, updateMask: { paths: ["config.template_type"] } }),
    );
    expect(typeChange.rawMessage).to.contain("template_type");
    expect(violatedFields(typeChange)).to.deep.equal(["update_mask"]);
    expect(
      (await failure(as(taA).updateTemplate({ template: { id: tpl.id }, updateMask: { paths: ["owner_id"] } })))
        .rawMessage,
    ).to.contain("update_mask");
    expect(
      (await failure(as(taA).updateTemplate({ template: { id: tpl.id }, updateMask: { paths: ["status"] } })))
        .rawMessage,
    ).to.contain("update_mask");
    const back = await as(taA).rollbackTemplate({ templateId: tpl.id, toVersionId: v1.id, changelog: "too big" });
    expect(back.version).to.include({
      versionNumber: "v2.0.1",
      isLatest: true,
      changelog: "Rollback to v1.0.0: too big",
    });
    expect(
      errorReasons(await failure(as(taA).rollbackTemplate({ templateId: tpl.id, toVersionId: back.version!.id }))),
    ).to.deep.equal(["VERSION_ALREADY_LATEST"]);
    expect(back.template!.config).to.include({ defaultCpuCores: 4, defaultMemoryGb: 8, listed: true });
    const all = (await as(taA).listTemplateVersions({ templateId: tpl.id })).versions;
    expect(all.map((v) => `${v.versionNumber}${v.isLatest ? "*" : ""}`)).to.deep.equal([
      "v2.0.1*",
      "v2.0.0",
      "v1.0.1",
      "v1.0.0",
    ]);
    // An instance can be made from a specific version or from the latest.
    expect(
      (await as(taA).previewInstanceConfig({ templateId: tpl.id, templateVersionId: u1.version!.id })).config!.cpuCores,
    ).to.equal(8);
    expect((await as(taA).previewInstanceConfig({ templateId: tpl.id })).config!.cpuCores).to.equal(4);
    const audits = await t.hub.db.knex("audit_log").where({ target_id: tpl.id }).orderBy("at").pluck("action");
    expect(audits).to.deep.equal([
      "template.create",
      "template.update",
      "template.update",
      "template.update",
      "template.rollback",
    ]);
  });

  it("previews the instance config with the 000 §6.2.1 merge rules against real image versions", async () => {
    const tpl = (
      await admin.createTemplate({
        template: { config: config({ name: "merge-example" }), visibility: TemplateVisibility.PUBLIC },
      })
    ).template!;
    const images = t.client(ImageService, await t.adminToken());
    const version = (await images.publishImageVersion({ imageId: ubuntuId, versionNumber: "v1.1.0" })).version!;
    const res = await as(carol).previewInstanceConfig({
      templateId: tpl.id,
      overrides: { cpuCores: 8, memoryGb: 16, imageVersionId: version.id },
    });
    expect(res.config).to.include({
      imageId: ubuntuId,
      imageVersionId: version.id,
      cpuCores: 8,
      memoryGb: 16,
      storageGb: 100,
      bandwidthGbps: 5,
    });
    expect(res.config!.networkConfig).to.include({ vpcId: "vpc-001", subnetId: "subnet-001" });
    const defaulted = await as(carol).previewInstanceConfig({ templateId: tpl.id });
    expect(defaulted.config!.imageVersionId).to.not.equal(version.id); // the image's default version v1.0.0
    const other = await images.createImage({
      image: { name: "centos", imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC },
    });
    const otherVersion = (await images.publishImageVersion({ imageId: other.image!.id, versionNumber: "v1.0.0" }))
      .version!;
    expect(
      (
        await failure(
          as(carol).previewInstanceConfig({ templateId: tpl.id, overrides: { imageVersionId: otherVersion.id } }),
        )
      ).rawMessage,
    ).to.contain("Invalid overrides.image_version_id");
    expect(
      (await failure(as(carol).previewInstanceConfig({ templateId: tpl.id, overrides: { imageId: other.image!.id } })))
        .rawMessage,
    ).to.contain("Invalid overrides.image_id: cannot be overridden");
    const short = await failure(as(carol).previewInstanceConfig({ templateId: tpl.id, overrides: { memoryGb: 2 } }));
    expect(short.code).to.equal(Code.FailedPrecondition);
    expect(short.rawMessage).to.contain("memory_gb 2 is below the minimum 4 (recommended 8)");
    expect(errorReasons(short)).to.deep.equal(["IMAGE_REQUIREMENTS_NOT_MET"]);
    expect(short.findDetails(RequirementsNotMetSchema)[0]!.shortfalls.map((x) => x.dimension)).to.deep.equal([
      RequirementDimension.MEMORY_GB,
    ]);
    expect(
      violatedFields(
        await failure(as(carol).previewInstanceConfig({ templateId: tpl.id, templateVersionId: "latest" })),
      ),
    ).to.deep.equal(["template_version_id"]);
  });

  it("creates instance-set templates from visible instance templates", async () => {
    const member = (await as(taA).listTemplates({ nameContains: "dev-box" })).templates[0]!;
    const set = await as(taA).createTemplate({
      template: {
        config: config({
          name: "web-farm",
          templateType: TemplateType.INSTANCE_SET,
          useCase: TemplateUseCase.WEB_SERVER,
          instanceSet: {
            instanceCount: 3,
            instanceNamePattern: "web-{i}",
            memberTemplateIds: [member.id],
            loadBalancerConfig: { algorithm: "round_robin" },
            sharedStorageConfig: { size_gb: 500 },
          },
        }),
        visibility: TemplateVisibility.PUBLIC,
      },
    });
    expect(set.template!.config!.instanceSet).to.deep.include({
      instanceCount: 3,
      instanceNamePattern: "web-{i}",
      memberTemplateIds: [member.id],
    });
    expect(set.template!.config!.instanceSet!.loadBalancerConfig).to.deep.equal({ algorithm: "round_robin" });
    const nested = await failure(
      as(taA).createTemplate({
        template: {
          config: config({
            name: "farm-of-farms",
            templateType: TemplateType.INSTANCE_SET,
            instanceSet: { instanceCount: 2, instanceNamePattern: "f-{i}", memberTemplateIds: [set.template!.id] },
          }),
        },
      }),
    );
    expect(nested.rawMessage)
      .to.contain("Invalid template.config.instance_set.member_template_ids[0]")
      .and.contain("not an instance template");
    const inUse = await failure(as(taA).deleteTemplate({ id: member.id }));
    expect(inUse.rawMessage).to.contain("instance-set template web-farm uses it");
    expect(errorReasons(inUse)).to.deep.equal(["TEMPLATE_IN_USE"]);
  });

  it("filters by use_case, type, status, visibility and listed, and paginates", async () => {
    const list = async (req: Parameters<typeof admin.listTemplates>[0]) =>
      (await admin.listTemplates(req)).templates.map((x) => x.config!.name).sort();
    expect(await list({ useCase: TemplateUseCase.WEB_SERVER })).to.deep.equal(["web-farm"]);
    expect(await list({ templateType: TemplateType.INSTANCE_SET })).to.deep.equal(["web-farm"]);
    expect(await list({ status: TemplateStatus.ARCHIVED })).to.deep.equal(["public-one"]);
    expect(await list({ listed: false })).to.deep.equal([]);
    await admin.updateTemplate({
      template: {
        id: (await admin.listTemplates({ nameContains: "merge-example" })).templates[0]!.id,
        config: { listed: false },
      },
      updateMask: { paths: ["config.listed"] },
    });
    expect(await list({ listed: false })).to.deep.equal(["merge-example"]);
    // Unlisted (seed 002 下架): hidden from users' lists and not usable by them; managers still can.
    const hidden = (await admin.listTemplates({ nameContains: "merge-example" })).templates[0]!;
    expect((await as(carol).listTemplates({})).templates.map((x) => x.config!.name)).to.not.include("merge-example");
    const unlisted = await failure(as(carol).previewInstanceConfig({ templateId: hidden.id }));
    expect(unlisted.rawMessage).to.contain("it is not listed");
    expect(errorReasons(unlisted)).to.deep.equal(["TEMPLATE_NOT_LISTED"]);
    expect((await admin.previewInstanceConfig({ templateId: hidden.id })).config!.cpuCores).to.equal(4);
    expect(await list({ visibility: TemplateVisibility.PRIVATE, tenantId: taA.tenantId! })).to.deep.equal([
      "dev-box",
      "private-one",
    ]);
    const all = await list({});
    const paged: string[] = [];
    let token = "";
    do {
      const page = await admin.listTemplates({ pageSize: 3, pageToken: token });
      paged.push(...page.templates.map((x) => x.config!.name));
      token = page.nextPageToken;
    } while (token);
    expect(paged.sort()).to.deep.equal(all);
    expect((await failure(admin.listTemplates({ useCase: 99 as TemplateUseCase }))).rawMessage).to.contain(
      "Invalid use_case",
    );
    expect(violatedFields(await failure(admin.listTemplates({ baseImageId: "ubuntu" })))).to.deep.equal([
      "base_image_id",
    ]);
    expect(violatedFields(await failure(admin.getTemplate({ id: "dev-box" })))).to.deep.equal(["id"]);
    expect((await failure(admin.getTemplate({ id: "0190f3c8-0000-7000-8000-000000000000" }))).code).to.equal(
      Code.NotFound,
    );
  });
});

import type { Knex } from "knex";
import { ImageArchitecture, ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { InstanceService } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { InstanceSetService, InstanceSetType } from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD, type TestUser } from "../catalog/catalog-fixtures.js";

// A real hub (PGlite, or PostgreSQL with DATABASE_URL) with a classroom: tenant-a holds a teacher,
// a second teacher who is no member of the first one's sets, a tenant admin and `students`
// students; tenant-b holds an outsider. One public image with a version to create from.

export class SetWorld {
  t!: TestHub;
  people!: CatalogPeople;
  tenantA!: { id: string; name: string };
  tenantB!: { id: string; name: string };
  teacher!: TestUser;
  teacher2!: TestUser;
  tenantAdmin!: TestUser;
  outsider!: TestUser;
  students: TestUser[] = [];
  imageId = "";
  versionId = "";
  adminToken = "";
  private readonly tokens = new Map<string, string>();

  constructor(private readonly studentCount = 4) {}

  get knex(): Knex {
    return this.t.hub.db.knex;
  }

  async start(args: string[] = []): Promise<void> {
    this.t = await startTestHub({ args });
    this.people = new CatalogPeople(this.knex);
    this.tenantA = await this.people.tenant("tenant-a");
    this.tenantB = await this.people.tenant("tenant-b");
    this.teacher = await this.people.user("teacher", "user", this.tenantA);
    this.teacher2 = await this.people.user("teacher2", "user", this.tenantA);
    this.tenantAdmin = await this.people.user("ta", "tenant_admin", this.tenantA);
    this.outsider = await this.people.user("outsider", "user", this.tenantB);
    for (let i = 1; i <= this.studentCount; i++)
      this.students.push(await this.people.user(`student${i}`, "user", this.tenantA));
    this.adminToken = await this.t.adminToken();
    const images = this.t.client(ImageService, this.adminToken);
    this.imageId = (
      await images.createImage({
        image: {
          name: "java-dev",
          imageType: ImageType.OS_BASE,
          architecture: ImageArchitecture.X86_64,
          visibility: ImageVisibility.PUBLIC,
        },
      })
    ).image!.id;
    this.versionId = (await images.publishImageVersion({ imageId: this.imageId, versionNumber: "v1.0.0" })).version!.id;
  }

  async stop(): Promise<void> {
    await this.t?.stop();
  }

  async token(u: TestUser | "admin"): Promise<string> {
    if (u === "admin") return this.adminToken;
    let t = this.tokens.get(u.username);
    if (!t) {
      t = await this.t.login(u.username, PASSWORD, u.tenantName);
      this.tokens.set(u.username, t);
    }
    return t;
  }

  async sets(u: TestUser | "admin") {
    return this.t.client(InstanceSetService, await this.token(u));
  }

  async instances(u: TestUser | "admin") {
    return this.t.client(InstanceService, await this.token(u));
  }

  /** A training set owned by the teacher (its teacher member). */
  async trainingSet(name: string, owner: TestUser = this.teacher): Promise<string> {
    const res = await (
      await this.sets(owner)
    ).createInstanceSet({ instanceSet: { name, setType: InstanceSetType.TRAINING, description: "Java 2025 spring" } });
    return res.instanceSet!.id;
  }

  /** The student spec every classroom test uses: small, from the image's latest version. */
  spec(over: Record<string, unknown> = {}) {
    return { imageId: this.imageId, cpuCores: 1, memoryGb: 1, storageGb: 10, ...over };
  }

  async setUserQuota(u: TestUser, limits: Record<string, number>): Promise<void> {
    await this.knex("users")
      .where({ id: u.userId })
      .update({ quota_config: JSON.stringify(limits) });
  }
}

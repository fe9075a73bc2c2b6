import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { InstanceSetType } from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import {
  TemplateService,
  TemplateType,
  TemplateUseCase,
  TemplateVisibility,
} from "../../gen/edgehub/admin/v1/template_pb.js";
import { violatedFields } from "../support/api-conventions.js";
import { failure } from "../catalog/catalog-fixtures.js";
import type { SetWorld } from "./set-world.js";

// 000 §6.2.2: a set made from an instance-set template takes its member template and name pattern
// when a batch names no spec and no names.

export function setTemplates(w: SetWorld): void {
  describe("InstanceSetService with instance-set templates (000 §6.2.2)", function () {
    let memberId = "";
    let setTemplateId = "";
    before(async () => {
      const templates = w.t.client(TemplateService, w.adminToken);
      const base = {
        useCase: TemplateUseCase.DEVELOPMENT,
        baseImageId: w.imageId,
        defaultCpuCores: 1,
        defaultMemoryGb: 1,
        defaultStorageGb: 10,
        listed: true,
      };
      memberId = (
        await templates.createTemplate({
          template: { config: { ...base, name: "java-desk" }, visibility: TemplateVisibility.PUBLIC },
        })
      ).template!.id;
      setTemplateId = (
        await templates.createTemplate({
          template: {
            config: {
              ...base,
              name: "java-lab",
              templateType: TemplateType.INSTANCE_SET,
              instanceSet: { instanceCount: 30, instanceNamePattern: "lab-{i}", memberTemplateIds: [memberId] },
            },
            visibility: TemplateVisibility.PUBLIC,
          },
        })
      ).template!.id;
    });

    it("a set from the template records it; a batch without a spec uses the member template and names lab-1, lab-2, …", async () => {
      const c = await w.sets(w.teacher);
      const set = (
        await c.createInstanceSet({
          instanceSet: { name: "from-template", setType: InstanceSetType.TRAINING },
          templateId: setTemplateId,
        })
      ).instanceSet!;
      expect(set.templateId).to.equal(setTemplateId);
      const res = await c.batchCreateInstances({
        instanceSetId: set.id,
        studentSpec: {},
        students: w.students.slice(0, 2).map((s) => ({ userId: s.userId })),
      });
      expect(res.results.map((r) => r.error?.message ?? r.instance!.name)).to.deep.equal(["lab-1", "lab-2"]);
      const rows = await w
        .knex("instances")
        .whereIn(
          "id",
          res.results.map((r) => r.instance!.instanceId),
        )
        .pluck("template_id");
      expect(rows).to.deep.equal([memberId, memberId]);
    });

    it("refuses an instance template, an unknown one, and a spec-less batch in a set without a template", async () => {
      const c = await w.sets(w.teacher);
      const wrongKind = await failure(
        c.createInstanceSet({ instanceSet: { name: "x", setType: InstanceSetType.TRAINING }, templateId: memberId }),
      );
      expect(violatedFields(wrongKind)).to.deep.equal(["template_id"]);
      const unknown = await failure(
        c.createInstanceSet({
          instanceSet: { name: "y", setType: InstanceSetType.TRAINING },
          templateId: "0193a0f0-0000-7000-8000-000000000000",
        }),
      );
      expect(unknown.code).to.equal(Code.NotFound);
      const plain = await w.trainingSet("plain");
      const noSpec = await failure(
        c.batchCreateInstances({
          instanceSetId: plain,
          studentSpec: {},
          students: [{ userId: w.students[2]!.userId }],
        }),
      );
      expect(violatedFields(noSpec)).to.deep.equal(["student_spec.image_id"]);
    });
  });
}

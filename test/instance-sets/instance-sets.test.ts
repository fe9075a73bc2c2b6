import { batchCreateRace } from "./batch-create-race.suite.js";
import { batchCreate } from "./batch-create.suite.js";
import { batchVerbs } from "./batch-verbs.suite.js";
import { reachableInstances } from "./reachable-instances.suite.js";
import { setTemplates } from "./set-templates.suite.js";
import { setsAndMembers } from "./sets-and-members.suite.js";
import { SetWorld } from "./set-world.js";

// One hub for every API suite of instance sets (a hub start costs more than most of them): each
// suite makes sets (and, where it counts, people) of its own, so they do not see each other's.

describe("instance sets (000 §2.2, §2.3, §2.5)", function () {
  this.timeout(300_000);
  const w = new SetWorld(30);
  before(() => w.start());
  after(() => w.stop());

  setsAndMembers(w);
  setTemplates(w);
  reachableInstances(w);
  batchCreate(w);
  batchVerbs(w);
  batchCreateRace(w);
});

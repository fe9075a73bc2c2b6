import { expect } from "chai";
import {
  AGENT_BACK,
  AGENT_LOST,
  BOX_STATUSES,
  DECOMMISSION,
  DISABLE,
  canTransition,
} from "../../hub/cloud-box-devices/cloud-box-lifecycle.js";

// 000 §1.6: initializing → online ⇄ maintenance, online → offline → disabled → decommissioned.

describe("cloud box lifecycle", () => {
  it("allows the spec's moves and refuses the rest", () => {
    expect(canTransition("initializing", "online")).to.equal(true);
    expect(canTransition("online", "maintenance")).to.equal(true);
    expect(canTransition("maintenance", "online")).to.equal(true);
    expect(canTransition("online", "offline")).to.equal(true);
    expect(canTransition("offline", "disabled")).to.equal(true);
    expect(canTransition("disabled", "decommissioned")).to.equal(true);
    expect(canTransition("online", "initializing")).to.equal(false);
    expect(canTransition("offline", "error")).to.equal(false);
    for (const to of BOX_STATUSES) expect(canTransition("decommissioned", to), to).to.equal(false);
  });

  it("lets the fleet move only boxes no operator holds: disabled and maintenance boxes keep their state", () => {
    expect(AGENT_BACK.from).to.not.include.members(["disabled", "maintenance", "decommissioned"]);
    expect(AGENT_LOST.from).to.not.include.members(["disabled", "maintenance", "decommissioned"]);
    expect(AGENT_LOST.to).to.equal("offline");
    expect(DISABLE.from).to.not.include("decommissioned");
    expect(DECOMMISSION.from).to.not.include("decommissioned");
  });
});

import { expect } from "chai";
import { INSTANCE_STATUS, VM_STATUS } from "../../hub/instances/instance-enums.js";
import {
  assertInstanceTransition,
  canInstanceTransition,
  IllegalInstanceTransitionError,
  instanceStatesAllowing,
} from "../../hub/instances/instance-lifecycle.js";
import { assertVmTransition, canVmTransition, IllegalVmTransitionError } from "../../hub/instances/vm-lifecycle.js";

// The legal moves, written out independently of the modules' tables (000 §2.1 and §1.5).
const INSTANCE_LEGAL = new Set([
  "creating>stopped",
  "creating>deleted",
  "stopped>initializing",
  "stopped>terminating",
  "initializing>running",
  "initializing>stopping",
  "initializing>stopped",
  "initializing>terminating",
  "running>suspended",
  "running>stopping",
  "running>terminating",
  "suspended>running",
  "suspended>stopping",
  "suspended>terminating",
  "stopping>stopped",
  "stopping>running",
  "stopping>terminating",
  "terminating>deleted",
]);

const VM_LEGAL = new Set([
  "creating>starting",
  "creating>stopping",
  "creating>error",
  "creating>deleted",
  "starting>running",
  "starting>stopping",
  "starting>stopped",
  "starting>error",
  "starting>deleted",
  "running>stopping",
  "running>stopped",
  "running>restarting",
  "running>error",
  "running>deleted",
  "stopping>stopped",
  "stopping>running",
  "stopping>error",
  "stopping>deleted",
  "stopped>creating",
  "stopped>starting",
  "stopped>error",
  "stopped>deleted",
  "restarting>running",
  "restarting>stopping",
  "restarting>stopped",
  "restarting>error",
  "restarting>deleted",
  "error>creating",
  "error>starting",
  "error>stopping",
  "error>stopped",
  "error>deleted",
]);

describe("instance lifecycle (000 §2.1)", () => {
  for (const from of INSTANCE_STATUS.dbValues) {
    for (const to of INSTANCE_STATUS.dbValues) {
      const legal = INSTANCE_LEGAL.has(`${from}>${to}`);
      it(`${legal ? "allows" : "refuses"} ${from} → ${to}`, () => {
        expect(canInstanceTransition(from, to)).to.equal(legal);
        if (legal) {
          expect(() => assertInstanceTransition("i-1", from, to)).not.to.throw();
          expect(instanceStatesAllowing(to)).to.include(from);
        } else {
          let err: unknown;
          try {
            assertInstanceTransition("i-1", from, to);
          } catch (e) {
            err = e;
          }
          expect(err).to.be.instanceOf(IllegalInstanceTransitionError);
          const e = err as IllegalInstanceTransitionError;
          expect(e.code).to.equal("failed_precondition");
          expect(e.reason).to.equal("ILLEGAL_INSTANCE_TRANSITION");
          expect(e.metadata).to.deep.equal({ instance_id: "i-1", from, to });
          expect(e.message).to.contain(`from ${from} to ${to}`);
          expect(instanceStatesAllowing(to)).not.to.include(from);
        }
      });
    }
  }
  it("deleted is final", () => {
    expect(INSTANCE_STATUS.dbValues.filter((to) => canInstanceTransition("deleted", to))).to.deep.equal([]);
  });
});

describe("VM lifecycle (000 §1.5)", () => {
  for (const from of VM_STATUS.dbValues) {
    for (const to of VM_STATUS.dbValues) {
      const legal = VM_LEGAL.has(`${from}>${to}`);
      it(`${legal ? "allows" : "refuses"} ${from} → ${to}`, () => {
        expect(canVmTransition(from, to)).to.equal(legal);
        if (!legal) {
          expect(() => assertVmTransition("v-1", from, to))
            .to.throw(IllegalVmTransitionError, `from ${from} to ${to}`)
            .with.property("reason", "ILLEGAL_VM_TRANSITION");
        }
      });
    }
  }
});

import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { eachInSavepoint, LeasedLoop } from "../background/leased-loop.js";
import { domainNameOf, type Instance, type VirtualMachine } from "./instance.js";
import { defineDomainPayload, domainRef, shutdownPayload, type DomainPayload } from "./compute-agent-link.js";
import { recordInstanceEvent } from "./instance-events.js";
import { moveInstance } from "./instance-status.js";
import { getInstance, liveVmOf } from "./instance-store.js";
import { cancelStaleSteps, runStep, type StepOutcome } from "./instance-steps.js";
import { finishDelete } from "./instance-verbs.js";
import { failOperation } from "./operation-failure.js";
import type { PlacementPort } from "./placement-port.js";
import { transitionVm } from "./vm-lifecycle.js";
import { reconcileDomainListings } from "./domain-listing.js";

export interface InstanceReconcilerDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  placement: Pick<PlacementPort, "releaseAllocation">;
  /** From hub/db/advisory-lock-keys.ts. */
  lockKey: number;
  intervalMs: number;
  /** Address compute hosts listen on for consoles ("" lets the agent choose its own). */
  graphicsListen: string;
  /** libvirt network for the NIC: "" = the host's default, "none" = no NIC. */
  network?: string;
  /** ACPI shutdown grace before the agent destroys the domain. */
  shutdownTimeoutMs: number;
  /** Called after each pass (tests). */
  onPass?: () => void;
  /** After an instance's move to running (000 §8.2.2 auto-attach: hub/disk-attachments); never throws. */
  onRunning?: (trx: Knex.Transaction, instanceId: string, at: Date) => Promise<unknown>;
}

const BATCH = 200;
const LONG_DEADLINE_MS = 7 * 24 * 3600 * 1000;

/**
 * The level-triggered loop of DESIGN.md "Desired state": every pass reads each instance whose
 * status differs from its desired state (or that has a restart pending), and moves it one or more
 * steps: queue the next agent command, or read the finished one and move VM and instance on what
 * the agent reported. A pass holds the lease (one hub at a time); each instance runs in its own
 * savepoint, so one that fails is retried next pass without undoing the others.
 */
export class InstanceReconciler extends LeasedLoop {
  constructor(private readonly deps: InstanceReconcilerDeps) {
    super({ ...deps, name: "instance-reconciler" });
  }

  protected async pass(trx: Knex.Transaction): Promise<number> {
    const now = this.deps.clock.now();
    const ids = (await trx("instances")
      .whereNull("deleted_at")
      .where((q) => q.whereRaw("status <> desired_state").orWhereNotNull("pending_action"))
      .orderBy("updated_at")
      .limit(BATCH)
      .pluck("id")) as string[];
    await eachInSavepoint(
      trx,
      ids,
      (sp, id) => this.reconcile(sp, id, now),
      (err, instanceId) => this.deps.log.warn({ err, instanceId }, "Reconciling instance failed; retrying next pass"),
    );
    await trx
      .transaction((sp) => reconcileDomainListings(sp, now, this.deps.log))
      .catch((err: unknown) => this.deps.log.warn({ err }, "Reconciling domain listings failed; retrying next pass"));
    return ids.length;
  }

  /** Converges one instance as far as the agent's reports allow now. */
  async reconcile(trx: Knex.Transaction, id: string, now: Date): Promise<void> {
    const i = await getInstance(trx, id, { lock: true });
    const vm = await liveVmOf(trx, id);
    if (i.operationDeadline && now >= i.operationDeadline) {
      await failOperation(trx, this.deps.placement, i, vm, now);
      return;
    }
    if (vm) await cancelStaleSteps(trx, vm, i.operationId, now);
    switch (i.status) {
      case "initializing":
        if (vm) await this.advanceStart(trx, i, vm, now);
        return;
      case "running":
        if (vm && i.pendingAction === "restart") await this.advanceRestart(trx, i, vm, now);
        else if (vm && i.desiredState === "suspended") await this.advanceSuspend(trx, i, vm, now);
        return;
      case "suspended":
        if (vm && i.desiredState === "running") await this.advanceResume(trx, i, vm, now);
        return;
      case "stopping":
        await this.advanceStop(trx, i, vm, now);
        return;
      case "terminating":
        await this.advanceDelete(trx, i, vm, now);
        return;
      default:
        return;
    }
  }

  /** One step of the instance's operation, due by the operation's deadline unless given another. */
  private step(
    trx: Knex.Transaction,
    i: Instance,
    vm: VirtualMachine,
    now: Date,
    name: string,
    payload: () => Promise<DomainPayload> | DomainPayload,
    deadline = this.deadlineOf(i, now),
  ): Promise<StepOutcome> {
    return runStep(trx, i, vm, name, payload, deadline, now);
  }

  private deadlineOf(i: Instance, now: Date): Date {
    return i.operationDeadline ?? new Date(now.getTime() + LONG_DEADLINE_MS);
  }

  /** A failed step ends the operation now, with the agent's error as the reason. */
  private async notDone(
    trx: Knex.Transaction,
    i: Instance,
    vm: VirtualMachine,
    o: StepOutcome,
    step: string,
    now: Date,
  ) {
    if (o.kind !== "failed") return;
    await failOperation(
      trx,
      this.deps.placement,
      i,
      vm,
      now,
      `${step} of domain ${domainNameOf(vm.id)} failed: ${o.error}`,
    );
  }

  private async advanceStart(trx: Knex.Transaction, i: Instance, vm: VirtualMachine, now: Date): Promise<void> {
    if (vm.status === "creating") {
      const listen = this.deps.graphicsListen;
      const o = await this.step(trx, i, vm, now, "define", () =>
        defineDomainPayload(trx, i, vm, { graphicsListen: listen, network: this.deps.network ?? "" }),
      );
      if (o.kind !== "done") return this.notDone(trx, i, vm, o, "define", now);
      await transitionVm(trx, vm.id, "starting", now, { last_domain_state: o.report?.state ?? "" });
      await recordInstanceEvent(trx, {
        instanceId: i.id,
        kind: "command",
        message: `Domain ${domainNameOf(vm.id)} defined on compute machine ${vm.computeMachineId}`,
        attributes: { command_id: o.command.id },
        at: now,
      });
      vm = { ...vm, status: "starting" };
    }
    if (vm.status === "starting") {
      const o = await this.step(trx, i, vm, now, "start", () => domainRef("startDomain", vm.id));
      if (o.kind !== "done") return this.notDone(trx, i, vm, o, "start", now);
      if (o.report?.state !== "running") {
        await failOperation(
          trx,
          this.deps.placement,
          i,
          vm,
          now,
          `the agent reports domain ${domainNameOf(vm.id)} ${o.report?.state ?? "without a state"} after starting it`,
        );
        return;
      }
      await transitionVm(trx, vm.id, "running", now, graphicsColumns(o.report));
      vm = { ...vm, status: "running" };
    }
    if (vm.status === "running") {
      await moveInstance(trx, i, "running", now, "the agent reports the domain running", {
        operation_deadline: null,
        last_error: "",
      });
      await this.deps.onRunning?.(trx, i.id, now);
    }
  }

  private async advanceRestart(trx: Knex.Transaction, i: Instance, vm: VirtualMachine, now: Date): Promise<void> {
    if (vm.status === "running") {
      await transitionVm(trx, vm.id, "restarting", now);
      vm = { ...vm, status: "restarting" };
    }
    if (vm.status !== "restarting") return;
    const down = await this.step(trx, i, vm, now, "restart-shutdown", () =>
      shutdownPayload(vm.id, this.deps.shutdownTimeoutMs),
    );
    if (down.kind !== "done") return this.notDone(trx, i, vm, down, "restart (shutdown)", now);
    const up = await this.step(trx, i, vm, now, "restart-start", () => domainRef("startDomain", vm.id));
    if (up.kind !== "done") return this.notDone(trx, i, vm, up, "restart (start)", now);
    await transitionVm(trx, vm.id, "running", now, graphicsColumns(up.report));
    await trx("instances")
      .where({ id: i.id })
      .update({ pending_action: null, operation_deadline: null, updated_at: now });
    await recordInstanceEvent(trx, {
      instanceId: i.id,
      kind: "status",
      message: "Restarted: the agent reports the domain running",
      at: now,
    });
  }

  private async advanceSuspend(trx: Knex.Transaction, i: Instance, vm: VirtualMachine, now: Date): Promise<void> {
    const o = await this.step(trx, i, vm, now, "suspend", () => domainRef("suspendDomain", vm.id));
    if (o.kind !== "done") return this.notDone(trx, i, vm, o, "suspend", now);
    await trx("virtual_machines")
      .where({ id: vm.id })
      .update({ last_domain_state: o.report?.state ?? "paused", updated_at: now });
    await moveInstance(trx, i, "suspended", now, "the agent reports the domain paused", { operation_deadline: null });
  }

  private async advanceResume(trx: Knex.Transaction, i: Instance, vm: VirtualMachine, now: Date): Promise<void> {
    const o = await this.step(trx, i, vm, now, "resume", () => domainRef("resumeDomain", vm.id));
    if (o.kind !== "done") return this.notDone(trx, i, vm, o, "resume", now);
    await trx("virtual_machines")
      .where({ id: vm.id })
      .update({ last_domain_state: o.report?.state ?? "running", updated_at: now });
    await moveInstance(trx, i, "running", now, "the agent reports the domain running again", {
      operation_deadline: null,
    });
  }

  /** stopping → stopped: ACPI shutdown (the agent destroys after the timeout), then the allocation is returned. */
  private async advanceStop(
    trx: Knex.Transaction,
    i: Instance,
    vm: VirtualMachine | undefined,
    now: Date,
  ): Promise<void> {
    if (vm && vm.status !== "stopped") {
      const vmId = vm.id;
      // A VM whose define never finished may not exist on the host: undefine is idempotent, shutdown is not.
      const neverDefined = vm.status === "creating";
      if (!neverDefined && vm.status !== "stopping") {
        await transitionVm(trx, vm.id, "stopping", now);
        vm = { ...vm, status: "stopping" };
      }
      const o = neverDefined
        ? await this.step(trx, i, vm, now, "undefine", () => domainRef("undefineDomain", vmId))
        : await this.step(trx, i, vm, now, "shutdown", () => shutdownPayload(vmId, this.deps.shutdownTimeoutMs));
      if (o.kind !== "done") return this.notDone(trx, i, vm, o, neverDefined ? "undefine" : "shutdown", now);
      if (neverDefined) await transitionVm(trx, vm.id, "deleted", now);
      else {
        await transitionVm(trx, vm.id, "stopped", now, {
          last_domain_state: o.report?.state ?? "shutoff",
          graphics_port: 0,
        });
      }
    }
    if (vm) await this.deps.placement.releaseAllocation(trx, vm.id);
    await moveInstance(trx, i, "stopped", now, "the agent reports the domain off; its allocation is returned", {
      desired_state: "stopped",
      compute_machine_id: null,
      virtual_machine_id: null,
      resource_pool_id: null,
      rental_mode: null,
      operation_deadline: null,
    });
  }

  /** terminating → deleted: the domain and its overlay are undefined, then allocation, quota and image use are returned. */
  private async advanceDelete(
    trx: Knex.Transaction,
    i: Instance,
    vm: VirtualMachine | undefined,
    now: Date,
  ): Promise<void> {
    if (vm) {
      // Undefine waits for an offline agent up to a week: the domain must go even after the API gave up.
      const o = await this.step(
        trx,
        i,
        vm,
        now,
        "undefine",
        () => domainRef("undefineDomain", vm.id),
        new Date(now.getTime() + LONG_DEADLINE_MS),
      );
      if (o.kind !== "done") return this.notDone(trx, i, vm, o, "undefine", now);
      await transitionVm(trx, vm.id, "deleted", now, { graphics_port: 0, last_domain_state: "absent" });
      await this.deps.placement.releaseAllocation(trx, vm.id);
    }
    await finishDelete(trx, i, now);
  }
}

function graphicsColumns(
  r: { graphicsProtocol: string; graphicsHost: string; graphicsPort: number; state: string } | undefined,
) {
  return r
    ? {
        graphics_protocol: r.graphicsProtocol,
        graphics_host: r.graphicsHost,
        graphics_port: r.graphicsPort,
        last_domain_state: r.state,
      }
    : {};
}

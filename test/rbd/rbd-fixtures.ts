import { create } from "@bufbuild/protobuf";
import {
  CommandPayloadSchema,
  type CommandPayload,
  type CommandResult,
} from "../../gen/edgehub/common/v1/command_pb.js";
import type { RbdImageReport } from "../../gen/edgehub/common/v1/rbd_pb.js";
import { CephLink, type CephConnectOptions } from "../../agent/rbd/cluster.js";
import { RbdImages } from "../../agent/rbd/images.js";
import { rbdExecutors } from "../../agent/executors/rbd-executors.js";
import type { CommandExecutor, CommandExecutors } from "../../lib/fleet-session/command-dispatcher.js";
import type { CephCluster } from "../support/ceph-backends.js";

// The gateway's executors over a real link, run the way the dispatcher runs them.

export function linkOptions(cluster: CephCluster, timeoutSeconds = 10): CephConnectOptions {
  return {
    conf: cluster.conf,
    user: cluster.user,
    ...(cluster.keyring ? { keyring: cluster.keyring } : {}),
    timeoutSeconds,
  };
}

export class Gateway {
  readonly link: CephLink;
  readonly executors: CommandExecutors;

  constructor(options: CephConnectOptions) {
    this.link = new CephLink(options);
    this.executors = rbdExecutors({ link: this.link, images: new RbdImages(this.link) });
  }

  /** Runs one command's payload on its executor; `deadlineMs` aborts it as the dispatcher would. */
  async run(payload: CommandPayload, deadlineMs = 60_000): Promise<CommandResult> {
    const kind = payload.kind;
    if (!kind.case) throw new Error("empty payload");
    const executor = this.executors[kind.case] as CommandExecutor | undefined;
    if (!executor) throw new Error(`no executor for ${kind.case}`);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("deadline passed")), deadlineMs);
    try {
      return await executor(kind.value as never, {
        commandId: "test",
        signal: controller.signal,
        deadline: new Date(Date.now() + deadlineMs),
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async image(payload: CommandPayload): Promise<RbdImageReport> {
    const r = await this.run(payload);
    if (r.kind.case !== "rbdImage") throw new Error(`expected rbdImage, got ${r.kind.case}`);
    return r.kind.value;
  }

  /** The command's error message (it must fail). */
  async failure(payload: CommandPayload, deadlineMs?: number): Promise<string> {
    try {
      await this.run(payload, deadlineMs);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error(`${payload.kind.case} succeeded; a failure was expected`);
  }

  close(): Promise<void> {
    return this.link.close();
  }
}

type Kind = NonNullable<CommandPayload["kind"]["case"]>;
/** A payload from plain fields, e.g. cmd("createRbdImage", { image: { pool, image }, sizeBytes }). */
export function cmd(kind: Kind, value: object): CommandPayload {
  return create(CommandPayloadSchema, { kind: { case: kind, value } as never });
}

export const MiB = 1n << 20n;

import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { CommandResultSchema } from "../gen/edgehub/common/v1/command_pb.js";
import type { CommandExecutors } from "../lib/fleet-session/command-dispatcher.js";

export interface BoxExecutorDeps {
  /** Restarts the client's boot flow (a device reboot also power-cycles; the client is what we own). */
  reboot: (reason: string) => void;
}

/**
 * The commands a cloud box runs, built in one place. Other parts of the client add theirs to the
 * returned map in main.ts (firmware: install_firmware). Each is idempotent: a re-delivered reboot
 * is answered from the session's journal, not run twice.
 */
export function boxExecutors(deps: BoxExecutorDeps): { executors: CommandExecutors; bootId: () => string } {
  let bootId = randomUUID();
  const executors: CommandExecutors = {
    echo: async (payload) =>
      create(CommandResultSchema, { kind: { case: "echo", value: { message: payload.message } } }),
    rebootBox: async (payload) => {
      bootId = randomUUID();
      // After the result is on its way: the report goes out before the viewer and flow restart.
      setImmediate(() => deps.reboot(payload.reason));
      return create(CommandResultSchema, { kind: { case: "rebootBox", value: { bootId } } });
    },
  };
  return { executors, bootId: () => bootId };
}

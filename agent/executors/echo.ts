import { create } from "@bufbuild/protobuf";
import { CommandResultSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";

/** Diagnostic: answers with its message; `delay_ms` makes it wait first (and be cancellable meanwhile). */
export const echoExecutor: CommandExecutor<"echo"> = async (payload, ctx) => {
  if (payload.delayMs > 0) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, payload.delayMs);
      ctx.signal.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error("cancelled"));
        },
        { once: true },
      );
    });
  }
  return create(CommandResultSchema, { kind: { case: "echo", value: { message: payload.message } } });
};

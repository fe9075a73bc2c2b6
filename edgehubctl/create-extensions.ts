import type { Command } from "commander";
import type { Message } from "@bufbuild/protobuf";
import type { HubSession } from "./hub-session.js";

/** Extra behaviour of one kind's create, by hand, where it helps (the rest is descriptor-driven). */
export interface CreateExtension {
  /** Options beside the generated field options. */
  options(cmd: Command): void;
  /** Text printed after the created resource, from the whole response. */
  after(response: Message, opts: Record<string, unknown>, session: HubSession): string;
}

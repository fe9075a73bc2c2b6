import type { CreateExtension } from "./create-extensions.js";
import { joinTokenNextStep } from "./join-token-next-step.js";

/** The kinds whose create does more than print the resource, by kind name. */
export const CREATE_EXTENSIONS: Readonly<Record<string, CreateExtension>> = {
  "join-token": joinTokenNextStep,
};

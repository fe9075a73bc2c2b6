import type { Command } from "commander";

/** Adds an "Examples:" section to the command's --help. Every command has one (a test checks). */
export function withExamples<C extends Command>(cmd: C, examples: readonly string[]): C {
  return cmd.addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`) as C;
}

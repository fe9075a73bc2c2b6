import { Command, Argument } from "commander";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { completionCandidates } from "../completion-candidates.js";
import { completionScript } from "../completion-script.js";

/** `completion bash|zsh` prints the script; the hidden `__complete` answers it. */
export function completionCommands(ctx: CliContext, root: Command): Command[] {
  const completion = new Command("completion")
    .description("Print a shell completion script")
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"]));
  withExamples(completion, [
    "source <(edgehubctl completion bash)",
    'edgehubctl completion zsh > "${fpath[1]}/_edgehubctl"',
  ]);
  completion.action((shell: "bash" | "zsh") => {
    ctx.io.stdout.write(completionScript(shell));
  });
  const complete = new Command("__complete")
    .description("Completion candidates for the words after edgehubctl")
    .argument("[words...]")
    .allowUnknownOption()
    .helpOption(false);
  withExamples(complete, ["edgehubctl __complete get us"]);
  complete.action((words: string[]) => {
    const candidates = completionCandidates(root, words.length === 0 ? [""] : words);
    ctx.io.stdout.write(candidates.map((c) => `${c}\n`).join(""));
  });
  return [completion, complete];
}

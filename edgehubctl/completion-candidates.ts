import type { Command } from "commander";

/**
 * What may come next on a command line: `words` are the words after `edgehubctl`, the last one
 * being typed. Subcommand names and aliases, and the options of the deepest command reached.
 */
export function completionCandidates(root: Command, words: readonly string[]): string[] {
  let cmd = root;
  const typed = words.slice(0, -1);
  const partial = words[words.length - 1] ?? "";
  for (const word of typed) {
    if (word.startsWith("-")) continue;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) cmd = sub;
  }
  const hidden = (c: Command) => (c as unknown as { _hidden?: boolean })._hidden === true;
  const subs = cmd.commands.filter((c) => !hidden(c)).flatMap((c) => [c.name(), ...c.aliases()]);
  const options = [...cmd.options, ...(cmd.parent ? root.options : [])]
    .flatMap((o) => [o.long, o.short])
    .filter((x): x is string => Boolean(x));
  const pool = partial.startsWith("-") ? [...options, "--help"] : subs;
  return [...new Set(pool)].filter((c) => c.startsWith(partial)).sort();
}

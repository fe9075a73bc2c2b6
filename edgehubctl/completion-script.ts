/**
 * Shell completion scripts. Both ask the program itself (`edgehubctl __complete WORDS…`), so
 * completion follows the kinds the hub's descriptors define without regenerating the script.
 */
export function completionScript(shell: "bash" | "zsh"): string {
  if (shell === "bash") {
    return `# edgehubctl bash completion: source <(edgehubctl completion bash)
_edgehubctl() {
  local IFS=$'\\n'
  COMPREPLY=( $(edgehubctl __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )
}
complete -o default -F _edgehubctl edgehubctl
`;
  }
  return `#compdef edgehubctl
# edgehubctl zsh completion: source <(edgehubctl completion zsh)
_edgehubctl() {
  local -a candidates
  candidates=("\${(@f)$(edgehubctl __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
if (( $+functions[compdef] )); then compdef _edgehubctl edgehubctl; fi
`;
}

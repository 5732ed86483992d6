// The lookup functions of the bash and zsh scripts: POSIX `case` statements over (command path, word),
// the same syntax in both shells.
import { type CommandNode, flagWords, sq } from "./tree.ts";

/** `case` arms shared by bash and zsh: (path, word) → canonical child name. */
export function childArms(nodes: CommandNode[], shell: "bash" | "zsh"): string {
  const arms: string[] = [];
  for (const n of nodes) {
    for (const c of n.children) {
      for (const w of [c.name, ...c.aliases]) arms.push(`    ${sq(`${n.path}|${w}`, shell)}) REPLY=${sq(c.name, shell)} ;;`);
    }
  }
  return arms.join("\n");
}

/** The lookup functions bash and zsh scripts share (same POSIX `case` syntax in both shells). */
export function lookupFunctions(nodes: CommandNode[]): string {
  return `_kasmos_valued() {
  REPLY=""
  case "$1" in
${valuedArms(nodes)}
  esac
}

_kasmos_flag_value() {
  REPLY="none"
  case "$1|$2" in
${flagValueArms(nodes)}
  esac
}

_kasmos_positional() {
  REPLY="none"
  case "$1|$2" in
${positionalArms(nodes)}
  esac
}
`;
}

function valuedArms(nodes: CommandNode[]): string {
  return nodes
    .map((n) => ({ n, words: n.flags.filter((f) => f.takesValue).flatMap(flagWords) }))
    .filter((x) => x.words.length > 0)
    .map((x) => `    ${sq(x.n.path)}) REPLY=${sq(` ${x.words.join(" ")} `)} ;;`)
    .join("\n");
}

/** (path, flag word) → "file" | "dir" | "none" | "enum:a b c". */
function flagValueArms(nodes: CommandNode[]): string {
  const arms: string[] = [];
  for (const n of nodes) {
    for (const f of n.flags.filter((x) => x.takesValue)) {
      const kind = f.options.length > 0 ? `enum:${f.options.join(" ")}` : f.value;
      for (const w of flagWords(f)) arms.push(`    ${sq(`${n.path}|${w}`)}) REPLY=${sq(kind)} ;;`);
    }
  }
  return arms.join("\n");
}

function positionalArms(nodes: CommandNode[]): string {
  const arms: string[] = [];
  for (const n of nodes) n.positionals.forEach((p, i) => arms.push(`    ${sq(`${n.path}|${i}`)}) REPLY=${sq(p.value)} ;;`));
  return arms.join("\n");
}

/**
 * One step of the walk over the words typed so far, the same in bash and zsh: skip a flag's value,
 * note a flag that takes one, descend into a subcommand (the positional count starts again there).
 * The shell's loop around it reads the word into `w`; the else branch (a positional) is the shell's.
 */
export const WORD_WALK_STEP = `    if [[ -n "$pending" ]]; then pending=""; continue; fi
    case "$w" in
      --*=*) continue ;;
      -*)
        _kasmos_valued "$cmdpath"
        [[ "$REPLY" == *" $w "* ]] && pending="$w"
        continue ;;
    esac
    _kasmos_child "$cmdpath" "$w"
    if [[ -n "$REPLY" ]]; then
      cmdpath="\${cmdpath:+$cmdpath }$REPLY"
      npos=0`;

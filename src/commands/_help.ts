// Help text with examples: citty's usage renderer plus an "EXAMPLES" section kept beside each command.
// Asked-for help (--help) goes to stdout; the usage shown after a usage error goes to stderr, short
// for a leaf command (its usage line and where the rest is), whole for a command group. Colour only on
// a terminal; no trailing spaces.
import { type ArgsDef, type CommandDef, renderUsage } from "citty";
import { useColor } from "./_tty.ts";
import { print, printErr } from "./_util.ts";

const EXAMPLES = new WeakMap<object, string[]>();

/** Attach usage examples to a command (shown by `--help` under EXAMPLES). */
export function withExamples<T extends object>(cmd: T, examples: string[]): T {
  EXAMPLES.set(cmd, examples);
  return cmd;
}

// biome-ignore lint: an escape sequence is the point
const ANSI = /\u001b\[[0-9;]*m/g;

function clean(text: string, fd: number): string {
  const plain = useColor(fd) ? text : text.replace(ANSI, "");
  return plain
    .split("\n")
    .map((l) => l.replace(/[ \t]+$/, ""))
    .join("\n");
}

export async function showUsage<T extends ArgsDef = ArgsDef>(cmd: CommandDef<T>, parent?: CommandDef<T>): Promise<void> {
  let text = await renderUsage(cmd, parent);
  const ex = EXAMPLES.get(cmd);
  if (ex && ex.length > 0) text += `\n\nEXAMPLES\n\n${ex.map((e) => `  ${e}`).join("\n")}`;
  const asked = process.argv.slice(2).some((a) => a === "--help" || a === "-h");
  if (asked) return print(`${clean(text, 1)}\n\n`);
  const subs = typeof cmd.subCommands === "function" ? await cmd.subCommands() : await cmd.subCommands;
  if (subs && Object.keys(subs).length > 0) return printErr(`${clean(text, 2)}\n`);
  const line = (clean(text, 2).split("\n").find((l) => l.includes("USAGE")) ?? "").replace(/^\s*USAGE\s+/, "").replace(/`/g, "").trim();
  const full = line.startsWith("kasmos") ? line : `kasmos ${line}`;
  const name = full.replace(/\s+(\[OPTIONS\]|<|\[).*$/, "");
  // After citty's own error line (printed right after this returns): the usage and where the rest is.
  process.once("exit", () => printErr(`usage: ${full}\nrun \`${name} --help\` for the options and examples`));
}

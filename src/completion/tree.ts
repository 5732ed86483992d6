// The command tree a completion script is generated from: citty command definitions walked (lazy
// subCommands resolved) into plain nodes with names, aliases, flags and value hints, and the quoting
// and wording every shell's script shares.
import type { ArgsDef } from "citty";
import type { AnyCommand } from "../commands/_strict.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** Names the script completes (the binary and its `kas` symlink). */
export const PROGRAMS = ["kasmos", "kas"] as const;

export interface FlagSpec {
  name: string;
  /** Extra spellings without dashes (`f` → `-f`, `force` → `--force`). */
  aliases: string[];
  takesValue: boolean;
  /** Values of an enum flag. */
  options: string[];
  /** What to complete for the value. */
  value: ValueKind;
  description: string;
}

export interface PositionalSpec {
  name: string;
  value: ValueKind;
}

export type ValueKind = "file" | "dir" | "none";

export interface CommandNode {
  name: string;
  aliases: string[];
  description: string;
  /** Space-separated canonical names from the root ("" for the root). */
  path: string;
  flags: FlagSpec[];
  positionals: PositionalSpec[];
  children: CommandNode[];
}

async function resolve<T>(v: unknown): Promise<T> {
  return (typeof v === "function" ? await (v as () => unknown)() : await v) as T;
}

function toArray(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function valueKind(hint: string | undefined, name: string): ValueKind {
  const h = `${hint ?? ""} ${name}`.toLowerCase();
  if (/\b(dir|directory|repo-path)\b/.test(h)) return "dir";
  if (/\b(path|file|file\.md)\b/.test(h) || /\.(md|toml|json)\b/.test(h)) return "file";
  return "none";
}

/** Walk a citty command tree (resolving lazy meta/args/subCommands) into plain nodes. Hidden commands are skipped. */
export async function walkCommands(cmd: AnyCommand, name = "kasmos", path = ""): Promise<CommandNode> {
  const meta = (await resolve<{ name?: string; alias?: string | string[]; description?: string } | undefined>(cmd.meta)) ?? {};
  const args = (await resolve<ArgsDef | undefined>(cmd.args)) ?? {};
  const flags: FlagSpec[] = [];
  const positionals: PositionalSpec[] = [];
  for (const [argName, def] of Object.entries(args)) {
    if (def.type === "positional") {
      positionals.push({ name: argName, value: valueKind(def.valueHint, argName) });
      continue;
    }
    const type = def.type ?? "boolean";
    const options = type === "enum" && "options" in def && Array.isArray(def.options) ? def.options.map(String) : [];
    flags.push({
      name: argName,
      aliases: "alias" in def ? toArray(def.alias as string | string[] | undefined) : [],
      takesValue: type === "string" || type === "enum",
      options,
      value: type === "string" ? valueKind(def.valueHint, argName) : "none",
      description: def.description ?? "",
    });
  }
  // citty's built-ins: --help/-h everywhere (unless the command defines them), --version/-v on the root.
  const taken = new Set(flags.flatMap((f) => [f.name, ...f.aliases]));
  if (!taken.has("help")) flags.push({ name: "help", aliases: taken.has("h") ? [] : ["h"], takesValue: false, options: [], value: "none", description: "show help" });
  if (path === "" && !taken.has("version")) flags.push({ name: "version", aliases: taken.has("v") ? [] : ["v"], takesValue: false, options: [], value: "none", description: "show the version" });

  const children: CommandNode[] = [];
  const subs = (await resolve<Record<string, unknown> | undefined>(cmd.subCommands)) ?? {};
  for (const [subName, sub] of Object.entries(subs)) {
    const subCmd = await resolve<AnyCommand>(sub);
    const subMeta = (await resolve<{ hidden?: boolean } | undefined>(subCmd.meta)) ?? {};
    if (subMeta.hidden) continue;
    children.push(await walkCommands(subCmd, subName, path ? `${path} ${subName}` : subName));
  }
  return { name, aliases: toArray(meta.alias), description: meta.description ?? "", path, flags, positionals, children };
}

export function allNodes(root: CommandNode): CommandNode[] {
  return [root, ...root.children.flatMap(allNodes)];
}

/** Single-quoted for sh/zsh/fish (fish also needs backslashes escaped inside single quotes). */
export function sq(s: string, shell: Shell = "bash"): string {
  if (shell === "fish") return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** First sentence, one line, bounded: completion menus are narrow. */
export function short(desc: string): string {
  const line = desc.replace(/\s*\([^)]*\)/g, "").replace(/\s+/g, " ").trim();
  const first = /^(.*?[.;:])(\s|$)/.exec(line)?.[1] ?? line;
  const s = first.replace(/[.;:]$/, "");
  return s.length > 70 ? `${s.slice(0, 67)}...` : s;
}

export function flagWords(f: FlagSpec): string[] {
  return [`--${f.name}`, ...f.aliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
}

export function childWords(n: CommandNode): string[] {
  return n.children.flatMap((c) => [c.name, ...c.aliases]);
}

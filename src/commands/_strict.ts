// Typos must not pass silently: citty ignores options a command does not define and runs the
// parent's usage for an unknown subcommand. Before running, walk the command line the way citty
// resolves subcommands and refuse unknown commands and options with a suggestion, exit 1.
import type { ArgsDef, CommandDef, Resolvable } from "citty";
import { nearest } from "../util/levenshtein.ts";

export type AnyCommand = CommandDef<ArgsDef>;

async function resolve<T>(v: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

interface OptionSpec {
  names: Set<string>; // camelCase names and aliases
  takesValue: Set<string>;
  booleans: Set<string>;
  display: string[]; // --long forms, for suggestions
}

function specOf(defs: ArgsDef[]): OptionSpec {
  const spec: OptionSpec = { names: new Set(["help", "h", "version", "v"]), takesValue: new Set(), booleans: new Set(), display: ["--help"] };
  for (const def of defs) {
    for (const [key, a] of Object.entries(def)) {
      if (a.type === "positional") continue;
      const aliases = "alias" in a && a.alias !== undefined ? (Array.isArray(a.alias) ? a.alias : [a.alias]) : [];
      for (const n of [camel(key), ...aliases.map(String)]) {
        spec.names.add(n);
        if (a.type === "string" || a.type === "enum") spec.takesValue.add(n);
        if (a.type === "boolean") spec.booleans.add(n);
      }
      spec.display.push(`--${kebab(key)}`);
    }
  }
  return spec;
}

function optionName(token: string): string {
  return camel(token.replace(/^-{1,2}/, "").split("=")[0] ?? "");
}

/** Problems with the options in `args` for a command whose options are `spec`; also returns where the subcommand is. */
function check(args: string[], spec: OptionSpec, stopAtPositional: boolean): { error: string | null; positional: number } {
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!;
    if (t === "--") return { error: null, positional: -1 };
    if (!t.startsWith("-") || t === "-") {
      if (stopAtPositional) return { error: null, positional: i };
      continue;
    }
    if (/^-\d/.test(t)) continue; // a negative number is a value
    const name = optionName(t);
    const negated = name.startsWith("no") && spec.booleans.has(name.charAt(2).toLowerCase() + name.slice(3));
    if (!spec.names.has(name) && !negated) {
      const flag = t.split("=")[0]!;
      const guess = nearest(`--${kebab(name)}`, spec.display);
      return { error: `unknown option ${flag}${guess ? ` (did you mean ${guess}?)` : ""}`, positional: -1 };
    }
    if (spec.takesValue.has(name) && !t.includes("=")) i++;
  }
  return { error: null, positional: -1 };
}

/** An error line for the first unknown command or option of `rawArgs`, or null when all are known. */
export async function strictArgsError(main: AnyCommand, rawArgs: string[]): Promise<{ message: string; path: string } | null> {
  let cmd = main;
  let args = rawArgs;
  const path: string[] = [];
  const inherited: ArgsDef[] = [];
  for (let depth = 0; depth < 8; depth++) {
    const own = (await resolve(cmd.args)) ?? {};
    const subs = await resolve(cmd.subCommands);
    const spec = specOf([...inherited, own]);
    if (subs && Object.keys(subs).length > 0) {
      const r = check(args, spec, true);
      if (r.error) return { message: r.error, path: path.join(" ") };
      if (r.positional < 0) return null; // no subcommand given: citty shows usage
      const name = args[r.positional]!;
      let next: AnyCommand | undefined;
      if (name in subs) next = await resolve(subs[name]);
      else {
        for (const s of Object.values(subs)) {
          const c = await resolve(s);
          const meta = await resolve(c?.meta);
          const alias = meta?.alias;
          if (alias && (Array.isArray(alias) ? alias : [alias]).includes(name)) next = c;
        }
      }
      if (!next) {
        const guess = nearest(name, Object.keys(subs));
        return { message: `unknown command ${name}${guess ? ` (did you mean ${guess}?)` : ""}`, path: path.join(" ") };
      }
      path.push(name);
      inherited.push(own);
      cmd = next;
      args = args.slice(r.positional + 1);
      continue;
    }
    const r = check(args, spec, false);
    return r.error ? { message: r.error, path: path.join(" ") } : null;
  }
  return null;
}

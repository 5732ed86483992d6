// Undo preflight's trust of a task worktree once gc removed it: the entries kasmos added to
// ~/.claude.json (projects["<path>"]) and ~/.codex/config.toml ([projects."<path>"] trust_level =
// "trusted") would otherwise pile up, one per task. Under each CLI's lock, written atomically with the
// file's mode kept; the rest of the file is left as it was (codex's text byte for byte; an entry the
// user gave more settings than kasmos's trust line is left alone).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { claudeStateFile } from "./claude.ts";
import { codexHome, tomlString } from "./codex.ts";
import { type JsonObject, updateJsonFile, withFileLock, writeAtomic } from "./config-file.ts";

/** `text` without the `[projects."<folder>"]` table kasmos wrote (the line before it too when blank); unchanged otherwise. */
export function withoutCodexTrust(text: string, folder: string): string {
  const lines = text.split("\n");
  const header = `[projects.${tomlString(folder)}]`;
  const at = lines.findIndex((l) => l.trim() === header);
  if (at < 0) return text;
  let end = at + 1;
  while (end < lines.length && !/^\s*\[/.test(lines[end]!)) end++;
  const body = lines.slice(at + 1, end).map((l, i) => ({ l: l.trim(), i: at + 1 + i })).filter((x) => x.l !== "" && !x.l.startsWith("#"));
  if (body.length !== 1 || !/^trust_level\s*=\s*"trusted"$/.test(body[0]!.l)) return text;
  const start = at > 0 && lines[at - 1]!.trim() === "" ? at - 1 : at;
  lines.splice(start, body[0]!.i - start + 1);
  return lines.join("\n");
}

async function untrustCodex(env: Record<string, string | undefined>, folders: readonly string[]): Promise<string[]> {
  const file = join(codexHome(env), "config.toml");
  if (!existsSync(file)) return [];
  const removed: string[] = [];
  await withFileLock(file, () => {
    const text = readFileSync(file, "utf8");
    let out = text;
    for (const f of folders) {
      const next = withoutCodexTrust(out, f);
      if (next !== out) removed.push(f);
      out = next;
    }
    if (out !== text) writeAtomic(file, out);
  });
  return removed;
}

async function untrustClaude(env: Record<string, string | undefined>, folders: readonly string[]): Promise<string[]> {
  const file = claudeStateFile(env);
  if (!existsSync(file)) return [];
  const removed: string[] = [];
  await updateJsonFile(file, (obj) => {
    const projects = obj.projects;
    if (!projects || typeof projects !== "object" || Array.isArray(projects)) return false;
    for (const f of folders) {
      if (!Object.hasOwn(projects, f)) continue;
      delete (projects as JsonObject)[f];
      removed.push(f);
    }
    return removed.length > 0;
  });
  return removed;
}

/** Remove both CLIs' trust of `folders` (gone worktrees); what was removed, as "<cli>: <folder>". Never throws. */
export async function untrustFolders(env: Record<string, string | undefined>, folders: readonly string[]): Promise<{ removed: string[]; errors: string[] }> {
  const removed: string[] = [];
  const errors: string[] = [];
  for (const [cli, fn] of [["claude", untrustClaude], ["codex", untrustCodex]] as const) {
    try {
      for (const f of await fn(env, folders)) removed.push(`${cli}: ${f}`);
    } catch (err) {
      errors.push(`${cli}: ${(err as Error).message}`);
    }
  }
  return { removed, errors };
}

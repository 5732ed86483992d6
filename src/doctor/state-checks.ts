// Doctor checks of kasmos's own state: private files others could read, and the repos registered at
// run time (`kas daemon add`, kept in the store), checked like daemon.toml's repos.
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { storePath } from "../config/paths.ts";
import { loosePrivatePaths } from "../config/private-state.ts";
import { repoPathProblem, repoWarnings } from "../engine/repos.ts";
import type { CheckResult } from "./common.ts";


/** The store, logs, pid file, prompts and run folders: nobody but you may read them. */
export function checkPrivateFiles(): CheckResult {
  const name = "private files";
  const loose = loosePrivatePaths();
  if (loose.length === 0) return { name, ok: true, severity: "warn", detail: "store, logs, prompts and run folders are private (0600 files, 0700 folders)", fix: "" };
  const shown = loose.slice(0, 4).map((l) => `${l.path} (${l.mode}${l.mine ? "" : ", not yours"})`).join(", ");
  const more = loose.length > 4 ? ` and ${loose.length - 4} more` : "";
  const foreign = loose.filter((l) => !l.mine);
  return {
    name,
    ok: false,
    severity: "warn",
    detail: `other users can read ${shown}${more}`,
    fix: foreign.length > 0 ? `chown them to yourself (or move them away), then restart the daemon, which makes them private` : "restart the daemon (it makes them private), or chmod 600 the files and 700 the folders",
  };
}

/** Paths of the repos registered at run time, from the store (read-only; [] when there is no store yet). */
function storedRepoPaths(): string[] {
  const path = storePath();
  if (!existsSync(path)) return [];
  try {
    const db = new Database(path, { readonly: true });
    try {
      return db.query<{ path: string }, []>("SELECT path FROM repos ORDER BY project").all().map((r) => r.path);
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}

/** One check per repo registered with `kas daemon add` (daemon.toml's repos are checked by checkRepo). */
export function checkRegisteredRepos(configRepos: string[]): CheckResult[] {
  const out: CheckResult[] = [];
  for (const repo of storedRepoPaths()) {
    if (configRepos.includes(repo)) continue;
    const name = `repo ${basename(repo) || repo}`;
    const problem = repoPathProblem(repo);
    if (problem) {
      out.push({ name, ok: false, severity: "warn", detail: `${problem} (the daemon skips this repo)`, fix: `fix the folder named above, or unregister it: kas daemon remove ${repo}` });
      continue;
    }
    const warning = repoWarnings(repo)[0];
    if (warning) out.push({ name, ok: false, severity: "warn", detail: warning, fix: `cd ${repo} && git commit --allow-empty -m init` });
    else out.push({ name, ok: true, severity: "warn", detail: `${repo} (registered with kas daemon add)`, fix: "" });
  }
  return out;
}

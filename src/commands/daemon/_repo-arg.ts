// A repository named on the command line — by its path or by its project name — resolved against the
// daemon's registered repos.
import { existsSync } from "node:fs";
import { normalizeRepoPath } from "../../engine/repos.ts";
import { fail } from "../_util.ts";

/**
 * The project key of `arg`. A path must match a registered path exactly (after the same normalisation
 * as `add`); a bare name is a project name. Never a basename match: /not/here/proj must not name
 * /tmp/x/proj.
 */
export function registeredProject(repos: readonly { project: string; path: string }[], arg: string): string {
  const looksLikePath = arg.includes("/") || arg.startsWith("~") || existsSync(arg);
  if (looksLikePath) {
    const abs = normalizeRepoPath(arg.startsWith("/") || arg.startsWith("~") || arg.startsWith("$") ? arg : `${process.cwd()}/${arg}`);
    const hit = repos.find((r) => r.path === abs);
    if (!hit) fail(`not registered: ${abs}${repos.length > 0 ? ` (registered: ${repos.map((r) => r.path).join(", ")})` : ""}`);
    return hit.project;
  }
  if (!repos.some((r) => r.project === arg)) fail(`no registered project named ${arg}`);
  return arg;
}

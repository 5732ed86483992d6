// Repositories: list, register, unregister.
import { Hono } from "hono";
import { Refused } from "../../util/errors.ts";
import { addRepo, listRepos, removeRepo, trustRepo } from "../../api/repos.ts";
import { trustRepoConfig } from "../../usecases/trust-repo-config.ts";
import { liveAgents } from "../../store/agents.ts";
import { recordAudit } from "../../store/audit.ts";
import type { Daemon } from "../running-daemon.ts";
import { serve } from "../http.ts";

export function repoRoutes(d: Daemon): Hono {
  const app = new Hono();
  serve(app, listRepos, () => d.status().repos);
  serve(app, addRepo, ({ body }) => {
    const entry = d.addRepo(body.path);
    return { status: "added" as const, project: entry.project, path: entry.path, warnings: entry.warnings };
  });
  serve(app, removeRepo, ({ params, query }) => {
    const project = params.project;
    // Agents of an unregistered repo would run on with nobody watching them: refuse, or stop them (force).
    const live = d.registry.get(project) ? liveAgents(d.db, { project }).length : 0;
    if (live > 0 && !query.force) throw new Refused("conflict", `${live} agent${live === 1 ? "" : "s"} of ${project} still running; stop them first (kas agent list) or remove with --force to stop them`);
    const entry = d.removeRepo(project);
    return { status: "removed" as const, project: entry.project, path: entry.path, agents_stopped: live };
  });
  serve(app, trustRepo, ({ params }) => {
    const repo = registeredRepo(d, params.project);
    const r = trustRepoConfig(d.db, repo.path);
    if (r.status === "nothing_to_trust") return { status: r.status, project: repo.project, path: repo.path, commands: [], reason: r.reason };
    if (r.status === "trusted") {
      const message = `.kasmos/config.toml approved (sha256 ${r.digest.slice(0, 12)}): ${r.commands.join("; ") || "it names no command"}`;
      recordAudit(d.db, { kind: "repo_config_trusted", project: repo.project, message, detail: { digest: r.digest, commands: r.commands } });
      d.log.info(`${repo.project}: ${message}`);
    }
    return { status: r.status, project: repo.project, path: repo.path, digest: r.digest, commands: r.commands };
  });
  return app;
}

/** The registered repo `project`, or a 404. */
export function registeredRepo(d: Daemon, project: string) {
  const r = d.registry.get(project);
  if (!r) throw new Refused("not_found", `repo not registered: ${project}`);
  return r;
}

// `kas doctor` "remote <repo>": with auto_create_pr on, a repo needs a GitHub `origin` for kasmos to
// open its PRs; without one every done task's PR is skipped (an attention item then says so).
import { basename } from "node:path";
import type { LoadedConfig } from "../config/load.ts";
import { loadRepoOverrides } from "../config/repo.ts";
import { resolveOrigin } from "../github/remote.ts";
import type { CheckResult } from "./common.ts";

type RemoteCheck = CheckResult & { severity: "warn" };

export async function checkRemote(repo: string, loaded: LoadedConfig): Promise<RemoteCheck> {
  const name = `remote ${basename(repo) || repo}`;
  const auto = loadRepoOverrides(repo).overrides.auto_create_pr ?? loaded.config.auto_create_pr;
  const origin = await resolveOrigin(repo);
  if (origin.ok) return { name, ok: true, severity: "warn", detail: `origin ${origin.ref.owner}/${origin.ref.repo}${auto ? "" : " (auto_create_pr is off)"}`, fix: "" };
  if (!auto) return { name, ok: true, severity: "warn", detail: `${origin.reason} (auto_create_pr is off: no PR expected)`, fix: "" };
  return {
    name,
    ok: false,
    severity: "warn",
    detail: `${origin.reason}: kasmos cannot open this repo's PRs (auto_create_pr is on), each done task's PR will be skipped`,
    fix: `git -C ${repo} remote add origin https://github.com/<owner>/<repo>.git, or set auto_create_pr = false (daemon.toml or ${repo}/.kasmos/config.toml)`,
  };
}

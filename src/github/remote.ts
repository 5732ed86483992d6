// Owner/repo of a repository's `origin` remote. The raw configured URL is read (`git config`), not
// `git remote get-url`, so `url.<x>.insteadOf` rewrites (mirrors, tests) do not hide the GitHub name.
import { gitIn } from "./git.ts";

export interface RepoRef {
  host: string;
  owner: string;
  repo: string;
}

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

function fromPath(host: string, path: string): RepoRef | null {
  const parts = path
    .replace(/^\/+/, "")
    .replace(/\/+$/, "")
    .split("/")
    .filter((p) => p !== "");
  if (parts.length !== 2) return null;
  const owner = parts[0]!;
  const repo = parts[1]!.replace(/\.git$/, "");
  if (!NAME_RE.test(owner) || !NAME_RE.test(repo) || repo === "" || repo === "." || repo === "..") return null;
  return { host: host.toLowerCase(), owner, repo };
}

/**
 * Parse a remote URL: `https://host/o/r(.git)`, `http://…`, `ssh://[user@]host[:port]/o/r(.git)`,
 * `git://host/o/r`, scp-like `[user@]host:o/r(.git)`. Any host (GitHub Enterprise); null otherwise.
 */
export function parseRemoteUrl(raw: string): RepoRef | null {
  const url = raw.trim();
  if (url === "") return null;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme) {
    const proto = scheme[1]!.toLowerCase();
    if (!["https", "http", "ssh", "git", "git+ssh", "ssh+git"].includes(proto)) return null;
    let u: URL;
    try {
      u = new URL(url.replace(/^[^:]+:/, "https:"));
    } catch {
      return null;
    }
    if (u.hostname === "") return null;
    return fromPath(u.hostname, decodeURIComponent(u.pathname));
  }
  // scp-like syntax: no scheme, a colon before the first slash.
  const scp = /^(?:[^@/:]+@)?([^/:]+):(?!\/\/)(.+)$/.exec(url);
  if (scp) return fromPath(scp[1]!, scp[2]!);
  return null;
}

/** The configured `origin` URL, or null when the repo has no origin. */
export async function originUrl(repoPath: string): Promise<string | null> {
  const r = await gitIn(repoPath, ["config", "--get", "remote.origin.url"]);
  return r.code === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : null;
}

export type OriginResult = { ok: true; ref: RepoRef; url: string } | { ok: false; reason: string };

/** Owner/repo from the origin remote, with a reason when there is none or it is not parseable. */
export async function resolveOrigin(repoPath: string): Promise<OriginResult> {
  const url = await originUrl(repoPath);
  if (url === null) return { ok: false, reason: `no origin remote in ${repoPath}` };
  const ref = parseRemoteUrl(url);
  if (ref === null) return { ok: false, reason: `origin remote ${JSON.stringify(url)} is not a <host>/<owner>/<repo> URL` };
  return { ok: true, ref, url };
}

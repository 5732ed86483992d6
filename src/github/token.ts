// GitHub token: GH_TOKEN, then GITHUB_TOKEN, then `gh auth token` when the gh CLI is installed.
export type TokenSource = "GH_TOKEN" | "GITHUB_TOKEN" | "gh";

export interface TokenOptions {
  /** Environment to read (default process.env); also the gh child's environment. */
  env?: Record<string, string | undefined>;
  /** gh executable (default "gh" on PATH). */
  ghBin?: string;
  /** `gh auth token --hostname <host>` for Enterprise hosts (github.com needs none). */
  host?: string;
  timeoutMs?: number;
}

export const NO_TOKEN_REASON = "no GitHub token: set GH_TOKEN or GITHUB_TOKEN, or install gh and run `gh auth login`";

export async function resolveToken(opts: TokenOptions = {}): Promise<{ token: string; source: TokenSource } | null> {
  const env = opts.env ?? process.env;
  for (const name of ["GH_TOKEN", "GITHUB_TOKEN"] as const) {
    const t = env[name]?.trim();
    if (t) return { token: t, source: name };
  }
  const bin = opts.ghBin ?? "gh";
  const path = bin.includes("/") ? bin : Bun.which(bin, { PATH: env.PATH ?? process.env.PATH ?? "" });
  if (!path) return null;
  const args = [path, "auth", "token"];
  if (opts.host && opts.host !== "github.com") args.push("--hostname", opts.host);
  try {
    const cleanEnv: Record<string, string> = {};
    for (const [k, val] of Object.entries(env)) if (val !== undefined) cleanEnv[k] = val;
    const proc = Bun.spawn(args, { stdout: "pipe", stderr: "ignore", stdin: "ignore", env: cleanEnv });
    const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 5000);
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    clearTimeout(timer);
    const token = out.trim().split("\n")[0]?.trim() ?? "";
    return code === 0 && token !== "" ? { token, source: "gh" } : null;
  } catch {
    return null;
  }
}

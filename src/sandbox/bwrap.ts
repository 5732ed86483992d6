// The bubblewrap command line for one agent, from its policy. bubblewrap rather than Anthropic's
// sandbox-runtime: its file model reads everything but a deny list, where an agent here must see
// nothing of $HOME but what is named; it needs socat and runs its proxies in the calling process; and
// the argv below is small enough to read whole.
import { readlinkSync } from "node:fs";
import { sep } from "node:path";
import { isLink, type SandboxPolicy } from "./policy.ts";

/** True when `name` is one the policy keeps (exact, or a `PREFIX*` entry). */
export function envAllowed(name: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => (a.endsWith("*") ? name.startsWith(a.slice(0, -1)) : name === a));
}

function depth(p: string): number {
  return p.split(sep).length;
}

/**
 * `bwrap` arguments that run a program under `policy`, to be followed by the program's argv.
 * `envNames`: the variables the process starting bwrap has; those the policy does not keep are unset
 * by name, so no value (a key) is ever on a command line.
 *
 * - A new root of its own (bubblewrap's tmpfs): only what is bound exists; parents first, so a folder
 *   the agent may write inside one it may only read stays writable.
 * - Its own PID, IPC and UTS namespaces, and a /proc of its own: the daemon, the tmux server and the
 *   other agents are not there to read (environ) or signal; it dies with its pane (--die-with-parent).
 * - No --new-session: it would take the controlling terminal from the CLI's TUI (no resize signal,
 *   no job control). What the agent could push into its terminal reaches only the pane's own shell,
 *   which reads no input.
 */
export function bwrapArgs(policy: SandboxPolicy, envNames: readonly string[]): string[] {
  const args = ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL"];
  if (policy.network === "off") args.push("--unshare-net");
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--dir", policy.home);
  // resolv.conf is often a link into /run: names must still resolve.
  args.push("--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve");
  const binds = [...policy.read.map((p) => ({ p, rw: false })), ...policy.write.map((p) => ({ p, rw: true }))].sort((a, b) => depth(a.p) - depth(b.p));
  const mounts = [...policy.mounts].sort((a, b) => depth(a.to) - depth(b.to));
  for (const { p, rw } of binds) {
    // A folder bound elsewhere goes after the deepest same-path bind above it (a --bind, not -try: missing, the start fails rather than show what it covers).
    while (mounts.length > 0 && depth(mounts[0]!.to) < depth(p)) {
      const m = mounts.shift()!;
      args.push("--bind", m.from, m.to);
    }
    if (isLink(p)) {
      // /bin → usr/bin on a merged-/usr system: the same link inside, never a bind of what it points at.
      args.push("--symlink", readlinkSync(p), p);
      continue;
    }
    args.push(rw ? "--bind-try" : "--ro-bind-try", p, p);
  }
  for (const m of mounts) args.push("--bind", m.from, m.to);
  for (const p of policy.hide) args.push("--tmpfs", p);
  args.push("--chdir", policy.cwd, "--setenv", "HOME", policy.home, "--setenv", "TMPDIR", "/tmp");
  for (const name of envNames) if (!envAllowed(name, policy.env)) args.push("--unsetenv", name);
  args.push("--");
  return args;
}

// Throwaway local accounts for the tests that need another uid than the test runner's (root only:
// root bypasses file permissions, so only a real second account shows what they protect). Made with
// useradd under a unique name, no home; removed, with whatever they still run, by removeUser.
import { readdirSync, readFileSync } from "node:fs";

export interface LocalUser {
  name: string;
  uid: number;
  gid: number;
}

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** The programs makeUser, asUser and removeUser run, missing from PATH (empty: all there). */
export function missingUserTools(): string[] {
  return ["useradd", "userdel", "setpriv"].filter((p) => Bun.which(p) === null);
}

/** A new account `<prefix><random>` with a group of its own (useradd -U), no home, no login shell. */
export function makeUser(prefix: string): LocalUser {
  const name = `${prefix}${Math.random().toString(16).slice(2, 8)}`;
  const add = () => Bun.spawnSync(["useradd", "-M", "-U", "-s", "/usr/sbin/nologin", name], { stdout: "ignore", stderr: "pipe" });
  // Another test may hold the passwd lock for a moment: a few bounded tries.
  let r = add();
  for (let i = 0; i < 10 && r.exitCode !== 0 && /lock/i.test(r.stderr.toString()); i++) {
    Bun.sleepSync(200);
    r = add();
  }
  if (r.exitCode !== 0) throw new Error(`useradd ${name}: ${r.stderr.toString()}`);
  const id = (flag: string) => Number(Bun.spawnSync(["id", flag, name]).stdout.toString().trim());
  return { name, uid: id("-u"), gid: id("-g") };
}

/** argv with the account's uid and gid and no other groups (setpriv execs it: no process in between). */
export function userArgv(user: LocalUser, argv: string[]): string[] {
  return ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", ...argv];
}

/** Run argv as the account (bounded, 30 s); stdout and stderr together in `out`. */
export function asUser(user: LocalUser, argv: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): { code: number; out: string } {
  const r = Bun.spawnSync(userArgv(user, argv), { stdout: "pipe", stderr: "pipe", stdin: "ignore", timeout: 30_000, ...(opts.env ? { env: opts.env } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  return { code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

/** Pids of the processes running as `uid` (Linux /proc). */
function processesOf(uid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (new RegExp(`^Uid:\\s+${uid}\\s`, "m").test(readFileSync(`/proc/${e}/status`, "utf8"))) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Remove the account (and its group). Whatever still runs as it was started by the test that made it
 * (the uid is new): killed by pid first, since userdel refuses an account in use.
 */
export async function removeUser(user: LocalUser | null): Promise<void> {
  if (!user) return;
  const deadline = Date.now() + 10_000;
  for (let left = processesOf(user.uid); left.length > 0 && Date.now() < deadline; left = processesOf(user.uid)) {
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await Bun.sleep(50);
  }
  for (let i = 0; i < 10; i++) {
    const r = Bun.spawnSync(["userdel", user.name], { stdout: "ignore", stderr: "pipe" });
    if (r.exitCode === 0 || !/lock/i.test(r.stderr.toString())) return;
    Bun.sleepSync(200);
  }
}

// KASMOS_PORT: each live agent gets a port of its own from `[worktree] ports` (dev servers, test
// servers of parallel coders never collide). A port is held while its agent is live (the agents
// table says which are) and persisted in the agent's run folder, so a restarted daemon that adopts
// live agents never hands their ports out again. A port handed out whose start is still under way is
// reserved for a while (its agent row does not exist yet).
import { closeSync, openSync, readSync } from "node:fs";
import { parsePortRange } from "../config/schema.ts";
import { writePrivateFile } from "../config/private-state.ts";
import { READ_NOFOLLOW } from "../util/contained-fs.ts";

/** How long a port handed to a start stays reserved without its agent being live. */
const RESERVE_MS = 120_000;

export interface LiveAgentRef {
  project: string;
  title: string;
}

export type PortGrant = { port: number | null; error: null } | { port: null; error: string };

export class PortPool {
  /** project\0title → port, for agents this daemon started or whose file it read. */
  private known = new Map<string, number>();
  private reserved = new Map<string, { port: number; at: number }>();

  /** `portFile`: where an agent's port is persisted (its run folder). */
  constructor(private portFile: (project: string, title: string) => string) {}

  /**
   * A free port of `range` for the agent `project`/`title`, persisted; `live`: every live agent of
   * every project (their ports are held). null port when `range` is "" (no KASMOS_PORT).
   */
  take(range: string, project: string, title: string, live: LiveAgentRef[]): PortGrant {
    const r = parsePortRange(range);
    if (range === "" || r === null) return { port: null, error: null };
    const key = `${project}\0${title}`;
    const now = Date.now();
    const liveKeys = new Set(live.map((a) => `${a.project}\0${a.title}`));
    const held = new Set<number>();
    for (const a of live) {
      const k = `${a.project}\0${a.title}`;
      if (k === key) continue; // the agent being (re)started: its old session is ending
      const p = this.known.get(k) ?? this.readPort(a.project, a.title);
      if (p !== null) {
        this.known.set(k, p);
        held.add(p);
      }
    }
    for (const [k, res] of this.reserved) {
      // A live agent holds its port as such: when it ends, the port is free at once.
      if (now - res.at > RESERVE_MS || liveKeys.has(k)) this.reserved.delete(k);
      else if (k !== key) held.add(res.port);
    }
    // Ended agents' entries go: the map stays as large as the live fleet.
    for (const k of this.known.keys()) if (!liveKeys.has(k) && !this.reserved.has(k)) this.known.delete(k);
    for (let p = r.first; p <= r.last; p++) {
      if (held.has(p)) continue;
      this.reserved.set(key, { port: p, at: now });
      this.known.set(key, p);
      writePrivateFile(this.portFile(project, title), `${p}\n`);
      return { port: p, error: null };
    }
    return { port: null, error: `no free port in [worktree] ports ${range}: all ${r.last - r.first + 1} are held by live agents (widen the range in daemon.toml, or wait for agents to end)` };
  }

  private readPort(project: string, title: string): number | null {
    let fd: number;
    try {
      fd = openSync(this.portFile(project, title), READ_NOFOLLOW);
    } catch {
      return null;
    }
    try {
      const buf = Buffer.alloc(16);
      const n = readSync(fd, buf, 0, buf.length, 0);
      const p = Number(buf.subarray(0, n).toString("utf8").trim());
      return Number.isInteger(p) && p > 0 && p <= 65_535 ? p : null;
    } finally {
      closeSync(fd);
    }
  }
}

// What every part of the agent runner works with: the daemon's store, log, event hub, tmux and config.
import type { Tmux } from "../agents/tmux.ts";
import { agentSessionTitle, recordedSessionTitle } from "../agents/session-name.ts";
import type { DaemonConfig } from "../config/schema.ts";
import { recordAudit } from "../store/audit.ts";
import { setAttention } from "../store/agents.ts";
import { type Db, writeTx } from "../store/db.ts";
import type { EventHub } from "../engine/events.ts";
import type { Logger } from "../runtime/log.ts";

export interface RunnerDeps {
  db: Db;
  log: Logger;
  hub: EventHub;
  tmux: Tmux;
  config: () => DaemonConfig;
  /** Directory holding the kasmos binary, put first on agents' PATH. */
  binDir: string;
  /** The daemon's socket, handed to agents (their hooks and `kasmos` commands talk to this daemon). */
  socketPath?: string;
  /** Ask for a scan pass of one repo soon (an agent reported something). */
  kick?: (project: string) => void;
}

/** The tmux session title of an agent: the one it was recorded with, or the scheme's for a new one. */
export function sessionTitleOf(a: { project: string; task: string; title: string; session?: string }): string {
  return a.session === undefined ? agentSessionTitle(a.project, a.task, a.title) : recordedSessionTitle({ ...a, session: a.session });
}

/** An attention item on the task, with its audit row, and the event out. */
export function raiseAttention(deps: RunnerDeps, project: string, task: string, text: string): void {
  writeTx(deps.db, () => {
    setAttention(deps.db, project, task, text);
    recordAudit(deps.db, { kind: "attention", project, task, message: text, level: "warn" });
  });
  deps.hub.pump();
}

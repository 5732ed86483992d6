// Reads each agent's token usage from its CLI's own records and stores the totals, beside the daemon's
// work: reads are asynchronous (never on the scan loop's or a request's critical path), one at a time
// per agent, and waited for at most READ_WAIT_MS. A record the agent names is untrusted
// (record-file.ts): a path outside the CLI's record folders is never stored, a refused file or a
// rejected number is logged and audited once, never an error for the agent nor a hold for its task.
import type { AgentEventBody } from "../api/agents.ts";
import { type AgentRow, agentById, setTranscript } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { type Db, writeTx } from "../store/db.ts";
import { cursorOf, setAgentUsage, usageOfAgent } from "../store/usage.ts";
import { harnessOf } from "./harness/index.ts";
import type { Harness } from "./harness/types.ts";
import { RecordRefused, rootsAndRealRoots, withinRoots } from "./record-file.ts";

/** How long a caller waits for a read (a stop records the agent's end after it); the read itself may go on. */
const READ_WAIT_MS = 5000;
/** A trailing usage read this long after a hook report (see collectSoon). */
const USAGE_SETTLE_MS = 250;
/** Reads queued behind a running one collapse into at most this many more. */
const MAX_REREADS = 2;

export interface CollectorDeps {
  db: Db;
  log: { warn: (msg: string) => void };
  /** The environment the agents' CLIs see (where they keep their records). */
  env: () => Record<string, string | undefined>;
  promptFileOf: (project: string, title: string) => string;
  /** The stored totals changed: budgets act on them. */
  onChanged: (project: string, task: string) => void;
}

export function harnessOfAgent(a: AgentRow): Harness {
  return harnessOf(a.harness);
}

export class UsageCollector {
  private inflight = new Map<number, Promise<void>>();
  private again = new Set<number>();
  private soon = new Set<number>();
  /** Problems already reported, per agent: once each. */
  private reported = new Set<string>();

  constructor(private deps: CollectorDeps) {}

  /** Read the agent's usage now (after a read already running, once more). Resolves when stored, or after READ_WAIT_MS. */
  collect(a: AgentRow): Promise<void> {
    let run = this.inflight.get(a.id);
    if (run) this.again.add(a.id);
    else {
      run = this.loop(a).finally(() => this.inflight.delete(a.id));
      this.inflight.set(a.id, run);
    }
    return waitAtMost(run, READ_WAIT_MS);
  }

  /**
   * One more read USAGE_SETTLE_MS after a hook report. A CLI may write its records a moment after the
   * hook fires (Claude Code's transcript line for the answer that asked for the tool): read only at the
   * report, an answer would be counted with the next one, and a budget's 80 % warning could be skipped
   * straight to its hold. At most one pending per agent.
   */
  collectSoon(a: AgentRow): void {
    if (this.soon.has(a.id)) return;
    this.soon.add(a.id);
    setTimeout(() => {
      this.soon.delete(a.id);
      void this.collect(a);
    }, USAGE_SETTLE_MS).unref?.();
  }

  /** A report from the agent's CLI: remember the transcript it names (once), then read usage now and shortly after. */
  onReport(a: AgentRow, ev: AgentEventBody): void {
    void this.noteTranscript(a, ev).then(() => this.collect(a));
    this.collectSoon(a);
  }

  private async noteTranscript(a: AgentRow, ev: AgentEventBody): Promise<void> {
    const h = harnessOfAgent(a);
    if (a.transcript !== "" || !h.transcriptFrom) return;
    try {
      const path = await h.transcriptFrom(ev.event, ev.payload, this.deps.env());
      if (path === null) return;
      const roots = h.recordRoots?.(this.deps.env()) ?? [];
      if (!withinRoots(path, await rootsAndRealRoots(roots))) return this.report(a, `transcript ${JSON.stringify(path.slice(0, 300))} named by its ${ev.cli} report is outside ${roots.join(", ") || "the CLI's record folders"}: ignored`);
      setTranscript(this.deps.db, a.id, path);
    } catch (err) {
      this.deps.log.warn(`${a.project}/${a.task}: transcript of ${a.title}: ${(err as Error).message}`);
    }
  }

  private async loop(a: AgentRow): Promise<void> {
    for (let i = 0; i <= MAX_REREADS; i++) {
      this.again.delete(a.id);
      await this.readOnce(a);
      if (!this.again.has(a.id)) return;
    }
  }

  /** One read and store. Never throws: usage is bookkeeping, not worth failing an agent for. */
  private async readOnce(a: AgentRow): Promise<void> {
    const h = harnessOfAgent(a);
    if (!h.readUsage) return;
    const { db } = this.deps;
    try {
      // The stored row: the transcript and cursor may have moved since `a` was read.
      const fresh = agentById(db, a.id) ?? a;
      const env = this.deps.env();
      const ctx = { transcript: fresh.transcript, roots: h.recordRoots?.(env) ?? [], cwd: fresh.cwd, promptFile: this.deps.promptFileOf(a.project, a.title), model: /--model (\S+)/.exec(fresh.program)?.[1] ?? "", env };
      const r = await h.readUsage(ctx, cursorOf(fresh.usageCursor), usageOfAgent(db, a.id));
      if (!r) return;
      if (r.session && fresh.transcript === "" && h.sessionFrom?.(r.session)) setTranscript(db, a.id, r.session);
      for (const why of r.rejected) this.report(a, `usage record rejected (not counted): ${why}`);
      if (r.capped) this.report(a, `${ctx.transcript} reached its size bound: later usage is not counted`);
      const changed = writeTx(db, () => setAgentUsage(db, { id: a.id, project: a.project, task: a.task, role: a.role }, r.totals, r.cursor));
      if (changed) this.deps.onChanged(a.project, a.task);
    } catch (err) {
      if (err instanceof RecordRefused && err.missing) return; // not written yet
      if (err instanceof RecordRefused) return this.report(a, `usage not read: ${err.message}`);
      this.deps.log.warn(`${a.project}/${a.task}: usage of ${a.title}: ${(err as Error).message}`); // e.g. the store closed at stop
    }
  }

  /** Log and audit a problem with an agent's records, once per agent and problem. */
  private report(a: AgentRow, text: string): void {
    const key = `${a.id}\0${text}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.deps.log.warn(`${a.project}/${a.task}: ${a.title}: ${text}`);
    try {
      recordAudit(this.deps.db, { kind: "usage_rejected", project: a.project, task: a.task, message: `${a.title}: ${text}`, detail: { title: a.title }, level: "warn" });
    } catch {
      // the store closed (daemon stop): the log line is enough
    }
  }
}

/** Resolves when `p` settles or after `ms`, whichever is first (never rejects). */
function waitAtMost(p: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

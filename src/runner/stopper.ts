// Stopping agents, beside the scan loop: the loop never waits for an agent's grace period. One stop at
// a time per title, after a start of that title finished; a superseded agent is stopped once its turn
// ended (bounded by stop_grace_sec); then C-c, grace, kill-session; then its row, usage and audit.
import { harnessOfAgent, type UsageCollector } from "../agents/usage-collector.ts";
import { type AgentRow, endAgent, liveAgentByTitle, markRestarted, setAttention } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { writeTx } from "../store/db.ts";
import { Limiter } from "../util/limiter.ts";
import { type RunnerDeps, sessionTitleOf } from "./context.ts";

const KILL_GRACE_MS = 3000;

export interface StopOptions {
  /** Replaced by a fresh agent of the same role (audit detail). */
  replaced?: boolean;
  /** Recorded as ended (no automatic restart until the task changes), e.g. an operator's kill. */
  final?: boolean;
  /** An operator restart: the title may start again at once. */
  restarted?: boolean;
  /** Wait for its turn to end first (an agent that just signalled). */
  waitTurn?: boolean;
}

export class Stopper {
  /** Agents being stopped, by id: reconcile leaves them to the stop, which records how they ended. */
  private killing = new Set<number>();
  /** Stops in flight, by project/title: that title does not start again until its stop finished. */
  private stopping = new Map<string, Promise<void>>();
  /**
   * At most 4 tmux processes of stops at once across every repo: a storm of 100 stops must not take the
   * CPU from the scan loop (each stop is 2 tmux calls; the grace wait between them runs none).
   */
  private stopSlots = new Limiter(4);

  constructor(
    private deps: RunnerDeps,
    private usage: UsageCollector,
    /** A start of this project/title under way, if any: a stop waits for it (never stops halfway). */
    private startOf: (key: string) => Promise<void> | undefined,
    /** The agent's stop is recorded: the other parts forget it. */
    private onStopped: (a: AgentRow) => void,
  ) {}

  isStopping(agentId: number): boolean {
    return this.killing.has(agentId);
  }

  /** A stop of this project/title is under way. */
  titleStopping(key: string): boolean {
    return this.stopping.has(key);
  }

  /** Stop in the background. */
  stop(a: AgentRow, reason: string, replaced = false, final = false): void {
    if (this.killing.has(a.id)) return;
    void this.stopJob(a, reason, { replaced, final, waitTurn: reason === "superseded" });
  }

  /** Stop now (no turn wait) and record it as an operator restart; resolves once the session is gone. */
  stopNow(a: AgentRow, reason: string): Promise<void> {
    return this.stopJob(a, reason, { restarted: true });
  }

  /** One stop; resolves when recorded. */
  private stopJob(a: AgentRow, reason: string, o: StopOptions): Promise<void> {
    const key = `${a.project}/${a.title}`;
    const before = this.stopping.get(key);
    if (this.killing.has(a.id) && before) return before;
    this.killing.add(a.id);
    const job: Promise<void> = (async () => {
      await before; // an earlier stop of this title (another row)
      await this.startOf(key); // and a start of it: never stopped halfway
      let turnEnded: boolean | null = null;
      try {
        // An agent that just signalled may still be finishing its turn (its last tool call returning):
        // stop it once the turn ended, bounded by stop_grace_sec.
        if (o.waitTurn) turnEnded = await this.turnEnded(a);
        await this.deps.tmux.kill(sessionTitleOf(a), { graceMs: KILL_GRACE_MS, gate: this.stopSlots.run });
      } catch (err) {
        this.deps.log.warn(`kill ${a.title}: ${(err as Error).message}`);
      }
      await this.usage.collect(a);
      writeTx(this.deps.db, () => {
        if (endAgent(this.deps.db, a.id, o.final ? "exited" : "killed", null, reason)) {
          if (o.final) setAttention(this.deps.db, a.project, a.task, `${a.role} ${a.title} ${reason}`);
          if (o.restarted) markRestarted(this.deps.db, a.project, a.title);
          recordAudit(this.deps.db, { kind: "agent_killed", project: a.project, task: a.task, message: `${a.role} ${a.title} stopped: ${reason}${turnEnded === false ? " (its turn had not ended after stop_grace_sec)" : ""}`, detail: { title: a.title, replaced: o.replaced ?? false, turn_ended: turnEnded } });
        }
      });
    })().finally(() => {
      this.killing.delete(a.id);
      this.onStopped(a);
      if (this.stopping.get(key) === job) this.stopping.delete(key);
      this.deps.hub.pump();
    });
    this.stopping.set(key, job);
    return job;
  }

  /**
   * Wait (bounded by stop_grace_sec) until the agent's turn is over: its hook said so, or its pane went
   * quiet. True = it ended, false = the grace ran out, null = not waited for (generic programs).
   */
  private async turnEnded(a: AgentRow): Promise<boolean | null> {
    const h = harnessOfAgent(a);
    if (h.name === "generic") return null;
    const deadline = Date.now() + this.deps.config().supervision.stop_grace_sec * 1000;
    const quietMs = 2000;
    while (Date.now() < deadline) {
      if (h.reportsTurns) {
        const row = liveAgentByTitle(this.deps.db, a.project, a.title);
        if (!row || row.id !== a.id || row.activity === "idle" || row.activity === "waiting" || row.activity === "ended") return true;
      } else {
        const last = await this.stopSlots.run(() => this.deps.tmux.lastActivity(sessionTitleOf(a))).catch(() => null);
        if (last === null || Date.now() - last * 1000 >= quietMs) return true;
      }
      await Bun.sleep(h.reportsTurns ? 250 : 1000); // a tmux call per look: once a second
    }
    return false;
  }
}

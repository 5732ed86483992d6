// Stalls: the provider refused an agent's turn (its harness read it from a hook report or the pane).
// A usage or rate limit is a pause, not a failure: the agent waits at its prompt until the reset the
// CLI named (plus jitter; limit_wait_sec when it named none), nothing new of that CLI starts meanwhile
// (other CLIs go on), and at the reset kasmos types a "continue" into the same session — the CLI keeps
// its conversation. An overload or outage the CLI's own retries did not outlast gets a few longer
// waits, then an attention item with the CLI's words. A rejected login or no credit: an attention item
// with the fix at once, no retries. Pauses live in the daemon's memory: a daemon restart forgets them
// (the agents sit at their prompts; their next turn end is read again).
import type { Stall, StallReason } from "../agents/harness/types.ts";
import { type AgentRow, clearAttention, getAttention, setActivity, setAttention } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { writeTx } from "../store/db.ts";
import { type RunnerDeps, sessionTitleOf } from "./context.ts";

/** The shortest pause at a limit whose CLI named a reset time. */
export const MIN_LIMIT_WAIT_MS = 15_000;

/** Waits after an overload the CLI's own retries gave up on: 30 s, 60 s, 120 s; then an attention item. */
export const OVERLOAD_WAITS_MS = [30_000, 60_000, 120_000];

const REASON_WORDS: Record<StallReason, string> = {
  usage_limit: "usage limit",
  rate_limit: "rate limit",
  overloaded: "provider overloaded or down",
  auth: "login rejected",
  billing: "no credit left",
};

/** "paused until 15:00 (usage limit, claude)": the words status, task show and notifications carry. */
export function pauseWords(reason: StallReason, cli: string, until: number): string {
  const t = new Date(until);
  const hhmm = `${String(t.getHours()).padStart(2, "0")}:${String(t.getMinutes()).padStart(2, "0")}:${String(t.getSeconds()).padStart(2, "0")}`;
  return `paused until ${hhmm} (${REASON_WORDS[reason]}, ${cli})`;
}

/** Up to 10 % of the wait, at most 30 s: agents of one account do not all come back in the same second. */
export function jitterMs(waitMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(30_000, Math.max(0, waitMs) * 0.1));
}

interface Held {
  /** paused: waits for `until`; stuck: a person must act; free: going on again (its overload tries kept). */
  state: "paused" | "stuck" | "free";
  cli: string;
  reason: StallReason;
  until: number;
  /** Overload waits so far (the next one is longer; past the last, attention). */
  tries: number;
  /** The task's attention text this pause set (cleared at the continue only when it is still this one). */
  attention: string;
}

export class Pauses {
  /** Per CLI: until when new agents of it wait. */
  private cliUntil = new Map<string, { until: number; reason: StallReason }>();
  /** Per agent id: its last stall and what came of it. */
  private held = new Map<number, Held>();

  constructor(private deps: RunnerDeps) {}

  /** Until when new agents of this CLI wait (ms), or null when they may start. */
  cliHeldUntil(cli: string, now = Date.now()): number | null {
    const p = this.cliUntil.get(cli);
    if (!p) return null;
    if (p.until <= now) {
      this.cliUntil.delete(cli);
      return null;
    }
    return p.until;
  }

  /** A person must act for this agent (a rejected login, no credit, an outage past its waits): `kas task retry` restarts it. */
  needsPerson(agentId: number): boolean {
    return this.held.get(agentId)?.state === "stuck";
  }

  /** The agent is paused (it is not nudged, nor reported stuck, meanwhile). */
  isHeld(agentId: number): boolean {
    const s = this.held.get(agentId)?.state;
    return s === "paused" || s === "stuck";
  }

  /** The agent ended: nothing more to continue. */
  forget(agentId: number): void {
    this.held.delete(agentId);
  }

  /** A stall of agent `a` (running `cli`), read from a report or its pane. */
  onStall(a: AgentRow, cli: string, stall: Stall, now = Date.now()): void {
    // The CLI is still at it; or this stall is handled already (its hook report and its pane both say it).
    if (stall.retrying || this.isHeld(a.id)) return;
    const prev = this.held.get(a.id);
    const quote = stall.note.length > 300 ? `${stall.note.slice(0, 297)}...` : stall.note;
    if (stall.reason === "auth" || stall.reason === "billing") {
      const fix = stall.reason === "auth" ? `renew the login or key ${cli} uses (for an API key: set a valid one in the daemon's environment and restart the daemon)` : `add credit to the account ${cli} uses`;
      const text = `${a.role} ${a.title} cannot work: ${cli} says ${REASON_WORDS[stall.reason]}: "${quote}" (fix: ${fix}; then kas task retry ${a.task})`;
      this.held.set(a.id, { state: "stuck", cli, reason: stall.reason, until: Number.POSITIVE_INFINITY, tries: 0, attention: text });
      this.attention(a, text, "stuck_detected", { reason: stall.reason, note: stall.note });
      return;
    }
    if (stall.reason === "overloaded") {
      const tries = (prev?.reason === "overloaded" ? prev.tries : 0) + 1;
      const wait = OVERLOAD_WAITS_MS[tries - 1];
      if (wait === undefined) {
        const text = `${a.role} ${a.title} cannot work: ${cli} says the provider is overloaded or down, still after ${OVERLOAD_WAITS_MS.length} waits: "${quote}" (look: kas agent capture ${a.title}; go on: kas agent send ${a.title} 'continue')`;
        this.held.set(a.id, { state: "stuck", cli, reason: stall.reason, until: Number.POSITIVE_INFINITY, tries, attention: text });
        this.attention(a, text, "stuck_detected", { reason: stall.reason, note: stall.note, tries: tries - 1 });
        return;
      }
      this.pause(a, cli, stall, now + wait + jitterMs(wait), tries, false);
      return;
    }
    // A named reset may be to the minute only ("try again at 9:24 PM"): never sooner than MIN_LIMIT_WAIT_MS.
    const base = stall.resetAt === null ? now + this.deps.config().supervision.limit_wait_sec * 1000 : Math.max(stall.resetAt, now + MIN_LIMIT_WAIT_MS);
    this.pause(a, cli, stall, base + jitterMs(base - now), 0, true);
  }

  private pause(a: AgentRow, cli: string, stall: Stall, until: number, tries: number, wholeCli: boolean): void {
    if (wholeCli) {
      const cur = this.cliUntil.get(cli);
      if (!cur || cur.until < until) this.cliUntil.set(cli, { until, reason: stall.reason });
    }
    const words = pauseWords(stall.reason, cli, until);
    const text = `${a.role} ${a.title} ${words}: "${stall.note.length > 200 ? `${stall.note.slice(0, 197)}...` : stall.note}" — it goes on by itself then${stall.resetAt === null && wholeCli ? ` (${cli} named no reset time: [supervision] limit_wait_sec)` : ""}`;
    this.held.set(a.id, { state: "paused", cli, reason: stall.reason, until, tries, attention: text });
    writeTx(this.deps.db, () => {
      setActivity(this.deps.db, a.id, "idle", words);
      setAttention(this.deps.db, a.project, a.task, text);
      recordAudit(this.deps.db, { kind: "agent_paused", project: a.project, task: a.task, message: text, detail: { title: a.title, cli, reason: stall.reason, until: new Date(until).toISOString(), reset_named: stall.resetAt !== null, note: stall.note, tries }, level: "warn" });
    });
    this.deps.log.warn(`${a.project}/${a.task}: ${text}`);
    const kick = setTimeout(() => this.deps.kick?.(a.project), Math.max(0, until - Date.now()) + 50);
    kick.unref?.();
    this.deps.hub.pump();
  }

  private attention(a: AgentRow, text: string, kind: "stuck_detected", detail: Record<string, unknown>): void {
    writeTx(this.deps.db, () => {
      setAttention(this.deps.db, a.project, a.task, text);
      recordAudit(this.deps.db, { kind, project: a.project, task: a.task, message: text, detail: { title: a.title, ...detail }, level: "warn" });
    });
    this.deps.log.warn(`${a.project}/${a.task}: ${text}`);
    this.deps.hub.pump();
  }

  /**
   * A paused agent whose wait is over: close a popup its CLI may show over the prompt, type the
   * continue into the same session, say so (audit, notification). True when it was continued now.
   */
  async continueIfDue(a: AgentRow, closePopup: () => Promise<void>, now = Date.now()): Promise<boolean> {
    const h = this.held.get(a.id);
    if (!h || h.state !== "paused" || h.until > now) return false;
    await closePopup();
    const text = `kasmos: the ${REASON_WORDS[h.reason]} has passed. Continue the task you were working on where you left off (your prompt file is ${"$"}KASMOS_PROMPT_FILE); do not repeat work that is already done.`;
    try {
      await this.deps.tmux.sendText(sessionTitleOf(a), text);
    } catch (err) {
      this.deps.log.warn(`continue ${a.title}: ${(err as Error).message}`);
      return false;
    }
    this.held.set(a.id, { ...h, state: "free" });
    const message = `${a.role} ${a.title} goes on after the ${REASON_WORDS[h.reason]} (${h.cli}): continued in the same session`;
    writeTx(this.deps.db, () => {
      setActivity(this.deps.db, a.id, "working", `continued after the ${REASON_WORDS[h.reason]}`);
      if (getAttention(this.deps.db, a.project, a.task) === h.attention) clearAttention(this.deps.db, a.project, a.task);
      recordAudit(this.deps.db, { kind: "agent_resumed", project: a.project, task: a.task, message, detail: { title: a.title, cli: h.cli, reason: h.reason, text } });
    });
    this.deps.log.info(`${a.project}/${a.task}: ${message}`);
    this.deps.hub.pump();
    return true;
  }
}

// The scan loop: a Bun timer ticks every poll_interval_sec over the registered repos, and kicks
// (a watcher saw a signal, a CLI queued one) run an extra pass over just the repos concerned.
// Passes never overlap (a request during a pass is coalesced into one follow-up pass), each repo's
// work is awaited separately and errors are contained per repo, so one slow or broken repo never
// stops the rest, and the API stays responsive because repo work yields between batches.
import type { Logger } from "../runtime/log.ts";
import { Histogram } from "./histogram.ts";
import type { RepoEntry } from "./repos.ts";

export type PassReason = "timer" | "event";
export type RepoWork = (repo: RepoEntry, reason: PassReason) => Promise<void>;

const SLOW_PASS_MS = 250;

export class ScanLoop {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** A pass scheduled for kicks (setImmediate: a zero timeout would cost a millisecond per kick). */
  private kickTimer: ReturnType<typeof setImmediate> | null = null;
  private running = false;
  private stopped = true;
  private current: Promise<void> | null = null;
  /** Follow-up requested while a pass ran: null = none, "all" = full timer pass, else these repos. */
  private followUp: Set<string> | "all" | null = null;
  /** Repos kicked while a timer pass runs: served between two of its repos (serveKicks). */
  private kickedDuringPass = new Set<string>();
  ticks = 0;
  eventPasses = 0;
  lastTickAt: string | null = null;
  lastTickMs = 0;
  /** Pass durations in seconds, by kind (read by GET /v1/metrics). */
  readonly durations: Record<PassReason, Histogram> = { timer: new Histogram(), event: new Histogram() };

  constructor(
    private intervalMs: number,
    private repos: () => RepoEntry[],
    private work: RepoWork,
    private log: Logger,
    private hooks: { beforePass?(reason: PassReason): void; afterPass?(reason: PassReason): void; idle?(repo: RepoEntry, reason: PassReason): boolean } = {},
  ) {}

  get interval(): number {
    return this.intervalMs;
  }

  start(): void {
    this.stopped = false;
    this.scheduleTimer();
  }

  setInterval(ms: number): void {
    this.intervalMs = ms;
    if (!this.stopped) this.scheduleTimer();
  }

  /** Extra pass as soon as possible over `project` (or every repo when omitted). */
  kick(project?: string): void {
    if (this.stopped) return;
    if (project !== undefined && this.running) this.kickedDuringPass.add(project);
    this.request(project === undefined ? "all" : new Set([project]));
    if (!this.running && !this.kickTimer) {
      this.kickTimer = setImmediate(() => {
        this.kickTimer = null;
        void this.runFollowUp();
      });
    }
  }

  private request(what: Set<string> | "all"): void {
    if (this.followUp === "all") return;
    if (what === "all") this.followUp = "all";
    else if (this.followUp === null) this.followUp = what;
    else for (const p of what) this.followUp.add(p);
  }

  private scheduleTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) this.request("all");
      else void this.pass("timer", null);
      if (!this.stopped) this.scheduleTimer();
    }, this.intervalMs);
  }

  private async runFollowUp(): Promise<void> {
    const f = this.followUp;
    if (f === null || this.running || this.stopped) return;
    this.followUp = null;
    await this.pass(f === "all" ? "timer" : "event", f === "all" ? null : f);
  }

  private async pass(reason: PassReason, only: Set<string> | null): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    const t0 = performance.now();
    this.current = (async () => {
      try {
        this.hooks.beforePass?.(reason);
      } catch (err) {
        this.log.error(`before-pass hook failed: ${(err as Error).message}`);
      }
      for (const repo of this.repos()) {
        if (this.stopped) break;
        if (only && !only.has(repo.project)) continue;
        // A full pass over many busy repos takes a while (20 ms with 100 agents over 11 repos): a
        // signal that lands meanwhile is served between two repos, not after the whole pass.
        if (reason === "timer") await this.serveKicks();
        await this.scanOne(repo, reason);
      }
      this.hooks.afterPass?.(reason);
    })();
    await this.current;
    const ms = performance.now() - t0;
    this.durations[reason].observe(ms / 1000);
    // Signals wait for a pass in progress: a long one is worth a line in the log.
    if (ms > SLOW_PASS_MS) this.log.warn(`slow ${reason} pass: ${Math.round(ms)} ms${only ? ` (${[...only].join(", ")})` : ""}`);
    if (reason === "timer") {
      this.ticks++;
      this.lastTickAt = new Date().toISOString();
      this.lastTickMs = performance.now() - t0;
    } else this.eventPasses++;
    this.running = false;
    this.current = null;
    this.kickedDuringPass.clear(); // what was not served is in followUp
    // A fresh macrotask, not recursion: a steady stream of kicks must not grow the stack.
    if (!this.stopped && this.followUp !== null && !this.kickTimer) {
      this.kickTimer = setImmediate(() => {
        this.kickTimer = null;
        void this.runFollowUp();
      });
    }
  }

  private async scanOne(repo: RepoEntry, reason: PassReason): Promise<void> {
    try {
      if (this.hooks.idle?.(repo, reason)) return;
      await this.work(repo, reason);
    } catch (err) {
      this.log.error(`scan of ${repo.project} failed: ${(err as Error).message}`);
    }
  }

  /**
   * Inside a timer pass: one event-loop turn (watch events arrive), then the repos kicked since, as
   * event work. A full-pass request ("all") waits for the follow-up pass as before.
   */
  private async serveKicks(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.kickedDuringPass.size === 0 || this.stopped) return;
    const kicked = [...this.kickedDuringPass];
    this.kickedDuringPass.clear();
    // Served now: no follow-up pass needed for them (a pending "all" stays).
    if (this.followUp instanceof Set) {
      for (const p of kicked) this.followUp.delete(p);
      if (this.followUp.size === 0) this.followUp = null;
    }
    const byProject = new Map(this.repos().map((r) => [r.project, r] as const));
    for (const project of kicked) {
      const repo = byProject.get(project);
      if (repo) await this.scanOne(repo, "event");
    }
    this.eventPasses++;
  }

  /** Stop scheduling and wait for an in-flight pass to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.kickTimer) clearImmediate(this.kickTimer);
    this.timer = null;
    this.kickTimer = null;
    if (this.current) await this.current;
  }
}

// The scan loop: a Bun timer ticks every poll_interval_sec over the registered repos.
// Ticks never overlap (the next one is scheduled when the previous finishes), each repo's work is
// awaited separately and errors are contained per repo, so one slow or broken repo never stops the rest.
import type { Logger } from "./log.ts";
import type { RepoEntry } from "./repos.ts";

export type RepoWork = (repo: RepoEntry, reason: string) => Promise<void>;

export class ScanLoop {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private again = false;
  private stopped = true;
  private current: Promise<void> | null = null;
  ticks = 0;
  lastTickAt: string | null = null;
  lastTickMs = 0;

  constructor(
    private intervalMs: number,
    private repos: () => RepoEntry[],
    private work: RepoWork,
    private log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  setInterval(ms: number): void {
    this.intervalMs = ms;
    if (!this.stopped && !this.running) this.schedule();
  }

  get interval(): number {
    return this.intervalMs;
  }

  /** Run a tick as soon as possible (e.g. a watcher saw a signal). Coalesces with a running tick. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick("event"), 0);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick("timer"), this.intervalMs);
  }

  private async tick(reason: string): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    this.timer = null;
    const t0 = performance.now();
    this.current = (async () => {
      for (const repo of this.repos()) {
        if (this.stopped) break;
        try {
          await this.work(repo, reason);
        } catch (err) {
          this.log.error(`scan of ${repo.project} failed: ${(err as Error).message}`);
        }
      }
    })();
    await this.current;
    this.ticks++;
    this.lastTickAt = new Date().toISOString();
    this.lastTickMs = performance.now() - t0;
    this.running = false;
    this.current = null;
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.timer = setTimeout(() => void this.tick("event"), 0);
    } else {
      this.schedule();
    }
  }

  /** Stop scheduling and wait (bounded by the caller) for an in-flight tick to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.current) await this.current;
  }
}

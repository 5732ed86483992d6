// How many agents may be starting at once, across every repo. A CLI's start-up is its busiest moment
// (Claude Code loads Node and its bundle, runs its hooks), and every agent runs in a tmux session of
// its own, hence a kernel autogroup of its own: 100 agents starting together outweigh the daemon about
// ten to one at the default agent_nice 10 (weight 110 each against its 1024), and signals wait for the
// daemon's share of the CPU. So the next agent starts when an earlier one has shown it is up (its first
// report or screen), has ended, or after a bounded time; the others wait here in arrival order.
import { availableParallelism } from "node:os";
import { nowIso } from "../store/db.ts";

/**
 * Two starts per core (at least 4, at most 8) keep the cores busy with start-ups while leaving the
 * daemon most of its share; not a config key, as the product's config page has no such setting.
 */
export const START_LIMIT = Math.max(4, Math.min(8, 2 * availableParallelism()));

/** A start that shows no sign of life within this long gives its slot to the next one. */
export const START_SETTLE_MS = 20_000;

export interface StartRequest {
  project: string;
  task: string;
  title: string;
}

export interface QueuedStart extends StartRequest {
  /** When it began waiting (ISO). */
  since: string;
}

/** What status shows: how many start now, and which agents wait for a slot. */
export interface StartQueueState {
  limit: number;
  starting: number;
  waiting: QueuedStart[];
}

const keyOf = (s: { project: string; title: string }): string => `${s.project}/${s.title}`;

export class StartGate {
  private starting = new Map<string, ReturnType<typeof setTimeout>>();
  private waiting: (QueuedStart & { go: () => void })[] = [];

  constructor(
    readonly limit = START_LIMIT,
    private settleMs = START_SETTLE_MS,
  ) {}

  /** Resolves once this start may begin; its slot is then held until done() or settleMs. */
  enter(s: StartRequest): Promise<void> {
    if (this.starting.size < this.limit && this.waiting.length === 0) {
      this.hold(keyOf(s));
      return Promise.resolve();
    }
    return new Promise<void>((go) => this.waiting.push({ project: s.project, task: s.task, title: s.title, since: nowIso(), go }));
  }

  /** This title's start is over (it reported, showed a screen, ended, failed or never began): the next may go. */
  done(s: { project: string; title: string }): void {
    const key = keyOf(s);
    const timer = this.starting.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.starting.delete(key);
    this.next();
  }

  state(): StartQueueState {
    return { limit: this.limit, starting: this.starting.size, waiting: this.waiting.map(({ project, task, title, since }) => ({ project, task, title, since })) };
  }

  private hold(key: string): void {
    const earlier = this.starting.get(key); // the same title again (a restart): one slot, the new clock
    if (earlier !== undefined) clearTimeout(earlier);
    const timer = setTimeout(() => {
      if (this.starting.get(key) !== timer) return;
      this.starting.delete(key);
      this.next();
    }, this.settleMs);
    timer.unref?.();
    this.starting.set(key, timer);
  }

  private next(): void {
    // Bounded by the queue's length: each turn removes one waiter.
    while (this.starting.size < this.limit && this.waiting.length > 0) {
      const w = this.waiting.shift()!;
      this.hold(keyOf(w));
      w.go();
    }
  }
}

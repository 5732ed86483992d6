// At most `size` async jobs at once; the rest wait in arrival order. Used to bound child processes
// (tmux, git) the daemon runs beside its scan loop.

/** Runs `fn` when a slot is free and frees the slot when it settles. */
export type Gate = <T>(fn: () => Promise<T>) => Promise<T>;

export class Limiter {
  private free: number;
  private waiters: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Jobs running plus jobs waiting (for tests and logs). */
  get busy(): number {
    return this.size - this.free + this.waiters.length;
  }

  /** Jobs waiting for a slot (callers that bound the queue refuse past their limit). */
  get waiting(): number {
    return this.waiters.length;
  }

  readonly run: Gate = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (this.free === 0) await new Promise<void>((r) => this.waiters.push(r));
    else this.free--;
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    }
  };
}

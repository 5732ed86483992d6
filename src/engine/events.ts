// Live event stream (GET /v1/events). Every event is an audit-log row, so the stream has stable ids,
// a client that reconnects with Last-Event-ID replays exactly what it missed. Rows are read from the
// log in bounded pages only while the client's stream has room (back-pressure): a replay from 0 of
// millions of rows costs the daemon one page at a time, never a stall, and a slow reader just lags
// behind on its cursor (a client that stops reading holds at most the high-water mark plus a page;
// the 4 MiB cut-off in send() remains as a backstop). A replay yields to other clients: it reads for
// about half a millisecond per turn of the event loop, then continues in a timer; the stream's pull never reads
// in place (a reader that drains at once would otherwise pull, enqueue and pull again in one chain of
// microtasks, holding the loop for the whole replay: /v1/ping p99 44–80 ms during a 1.9 M-event one).
import type { Db } from "../store/db.ts";
import { toAuditEntry } from "../api/events.ts";
import { type AuditRow, lastAuditId, listAudit } from "../store/audit.ts";

const HEARTBEAT_MS = 5000; // below Bun's default 10 s idle timeout
const POLL_MS = 250; // picks up rows written by CLI processes
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Bytes queued for a client before the log is no longer read for it (until it drains). */
const HIGH_WATER_BYTES = 256 * 1024;
const PAGE_ROWS = 50;
/**
 * Time one subscriber's catch-up may take per turn of the event loop (a filtered stream may skip many
 * rows). With 1 ms (100-row pages) another client's /v1/ping p99 was ×2.5–3.5 idle during a 600 k-event
 * replay, with 0.5 ms (50) ×0.8–1.7; the replay runs at ~80 k events/s instead of ~120 k.
 */
const TURN_BUDGET_MS = 0.5;

export interface EventFilter {
  project?: string | undefined;
  task?: string | undefined;
  kinds?: string[] | undefined;
}

interface Subscriber {
  cursor: number;
  filter: EventFilter;
  ctrl: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
  /** A continuation of catchUp is scheduled (turn budget used up, or asked for by pull). */
  scheduled: Promise<void> | null;
  /** catchUp is running: Bun calls pull() from inside enqueue(), which must not start a second one. */
  busy: boolean;
}

const enc = new TextEncoder();

export function formatSse(row: AuditRow): string {
  return `id: ${row.id}\nevent: ${row.kind}\ndata: ${JSON.stringify(toAuditEntry(row))}\n\n`;
}

export class EventHub {
  private subs = new Set<Subscriber>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private poll: ReturnType<typeof setInterval> | null = null;

  constructor(private db: Db) {}

  get subscriberCount(): number {
    return this.subs.size;
  }

  /** Send every audit row newer than each subscriber's cursor. Cheap when nobody listens. */
  pump(): void {
    for (const sub of this.subs) if (!sub.scheduled) this.catchUp(sub); // one mid-replay goes on in its own turn
  }

  private matches(sub: Subscriber, row: AuditRow): boolean {
    const f = sub.filter;
    if (f.project && row.project !== f.project) return false;
    if (f.task && row.task !== f.task) return false;
    if (f.kinds && f.kinds.length > 0 && !f.kinds.includes(row.kind)) return false;
    return true;
  }

  /**
   * Send the rows after the subscriber's cursor, a page at a time, while its stream has room. Called
   * by pump (new rows), by the stream's pull (the client drained what it had) and by itself (budget).
   */
  private catchUp(sub: Subscriber): void {
    if (sub.busy) return; // the running one reads on while there is room
    sub.busy = true;
    const until = performance.now() + TURN_BUDGET_MS;
    try {
      do {
        if (sub.closed || (sub.ctrl.desiredSize ?? 0) <= 0) return; // pull() resumes once the client reads
        const rows = listAudit(this.db, { afterId: sub.cursor, limit: PAGE_ROWS });
        // One chunk per page: a write per row costs more than formatting the row.
        let text = "";
        for (const row of rows) if (this.matches(sub, row)) text += formatSse(row);
        if (rows.length > 0) sub.cursor = rows[rows.length - 1]!.id;
        if (text !== "" && !this.send(sub, text)) return;
        if (rows.length < PAGE_ROWS) return; // caught up
      } while (performance.now() < until);
    } finally {
      sub.busy = false;
    }
    void this.later(sub);
  }

  /** catchUp in a turn of its own (a timer: other requests and I/O go first); resolves once it ran. */
  private later(sub: Subscriber): Promise<void> {
    sub.scheduled ??= new Promise<void>((resolve) =>
      setTimeout(() => {
        sub.scheduled = null;
        this.catchUp(sub);
        resolve();
      }, 0),
    );
    return sub.scheduled;
  }

  private send(sub: Subscriber, text: string): boolean {
    if (sub.closed) return false;
    try {
      sub.ctrl.enqueue(enc.encode(text));
      if ((sub.ctrl.desiredSize ?? 0) < -MAX_QUEUED_BYTES) {
        // Too far behind: end the stream; the client resumes with Last-Event-ID.
        this.drop(sub);
        sub.ctrl.close();
        return false;
      }
      return true;
    } catch {
      this.drop(sub);
      return false;
    }
  }

  private drop(sub: Subscriber): void {
    sub.closed = true;
    this.subs.delete(sub);
    if (this.subs.size === 0) this.stopTimers();
  }

  private startTimers(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      const line = `: heartbeat ${new Date().toISOString()}\n\n`;
      for (const sub of this.subs) this.send(sub, line);
    }, HEARTBEAT_MS);
    this.poll = setInterval(() => this.pump(), POLL_MS);
  }

  private stopTimers(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.poll) clearInterval(this.poll);
    this.heartbeat = null;
    this.poll = null;
  }

  /** A new SSE stream. `after` = Last-Event-ID to replay from; undefined = live only. */
  stream(after: number | undefined, filter: EventFilter): ReadableStream<Uint8Array> {
    let sub: Subscriber | null = null;
    return new ReadableStream<Uint8Array>(
      {
        start: (ctrl) => {
          sub = { cursor: after ?? lastAuditId(this.db), filter, ctrl, closed: false, scheduled: null, busy: false };
          this.subs.add(sub);
          this.startTimers();
          ctrl.enqueue(enc.encode(`retry: 1000\n: connected, replaying from ${sub.cursor}\n\n`));
          this.catchUp(sub);
        },
        // Never reads in place; the stream waits for the returned promise before it pulls again.
        pull: () => (sub && !sub.closed ? this.later(sub) : undefined),
        cancel: () => {
          if (sub) this.drop(sub);
        },
      },
      { highWaterMark: HIGH_WATER_BYTES, size: (chunk) => chunk?.byteLength ?? 0 },
    );
  }

  close(): void {
    for (const sub of [...this.subs]) {
      this.drop(sub);
      try {
        sub.ctrl.close();
      } catch {
        // already closed by the client
      }
    }
    this.stopTimers();
  }
}

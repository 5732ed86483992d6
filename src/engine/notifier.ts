// Notifications on what needs a person: an agent waiting for input or permission, an agent stuck or
// failed, a cycle or budget cap, a task done (with its PR URL). The notifier tails the audit log (every
// event is a row), so it sees what the daemon and the CLI record alike; delivery runs beside the scan
// loop (never inside it), with retries and backoff, and every delivery and failure is an audit row.
import { Limiter } from "../util/limiter.ts";
import type { NotifyConfig, NotifyKind } from "../config/schema.ts";
import { splitCommandLine } from "../agents/programs.ts";
import { maskSecretsInText } from "../config/secrets.ts";
import { getAttention } from "../store/agents.ts";
import { type AuditRow, lastAuditId, listAudit, recordAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { getTask } from "../store/tasks.ts";
import type { Logger } from "../runtime/log.ts";

export interface Notification {
  kind: NotifyKind;
  project: string;
  task: string;
  message: string;
  /** The task's open attention item when the notification was made ("" = none). */
  attention: string;
  pr_url: string;
  at: string;
  audit_id: number;
  reminder: boolean;
}

const WATCHED = ["agent_waiting", "stuck_detected", "agent_failed", "agent_refused", "attention", "budget_exceeded", "plan_transition", "agent_paused", "agent_resumed"];
const TICK_MS = 500;
const RETRIES = [1000, 2000, 4000];
const TIMEOUT_MS = 10_000;
const MAX_IN_FLIGHT = 8;
/** Deliveries waiting for a slot; past this a hanging channel would grow memory without bound. */
const MAX_WAITING = 1000;

/** The notification an audit row asks for, or null. */
export function notificationFor(row: AuditRow, attention: string, prUrl: string): Notification | null {
  let kind: NotifyKind | null = null;
  switch (row.kind) {
    case "agent_waiting":
      // the hook's own row ("Claude needs your permission") and the attention row with the pane text: notify once, on the attention
      kind = row.message.includes(" is waiting") ? "waiting" : null;
      break;
    case "stuck_detected":
      kind = "stuck";
      break;
    case "agent_failed":
    case "agent_refused":
      kind = "failed";
      break;
    case "attention":
      kind = /cycle limit|needs a decision/.test(row.message) ? "cap" : null;
      break;
    case "budget_exceeded":
      kind = "budget";
      break;
    case "agent_paused":
      kind = "paused";
      break;
    case "agent_resumed":
      kind = "resumed";
      break;
    case "plan_transition":
      kind = row.toStatus === "done" ? "done" : null;
      break;
    default:
      kind = null;
  }
  if (kind === null || !row.project) return null;
  return { kind, project: row.project, task: row.task ?? "", message: row.message, attention, pr_url: prUrl, at: row.timestamp, audit_id: row.id, reminder: false };
}

function title(n: Notification): string {
  const what: Record<NotifyKind, string> = { waiting: "waiting for you", stuck: "stuck", failed: "agent failed", cap: "at a cap", budget: "over budget", done: "done", paused: "paused", resumed: "going on" };
  return `kasmos: ${n.project}/${n.task} ${what[n.kind]}${n.reminder ? " (reminder)" : ""}`;
}

function text(n: Notification): string {
  return `${title(n)}\n${n.attention || n.message}${n.pr_url ? `\n${n.pr_url}` : ""}`;
}

/** The webhook request for a format (json: the event; slack: {text}; ntfy: plain text with a Title header). */
export function webhookRequest(n: Notification, format: NotifyConfig["format"]): { body: string; headers: Record<string, string> } {
  switch (format) {
    case "json":
      return { body: JSON.stringify(n), headers: { "content-type": "application/json" } };
    case "slack":
      return { body: JSON.stringify({ text: text(n) }), headers: { "content-type": "application/json" } };
    case "ntfy":
      return { body: n.attention || n.message, headers: { "content-type": "text/plain; charset=utf-8", Title: title(n), Tags: n.kind, ...(n.pr_url ? { Click: n.pr_url } : {}) } };
    default: {
      const never: never = format;
      return never;
    }
  }
}

export class Notifier {
  private cursor = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private sent = new Set<string>();
  /** Deliveries in flight; the rest wait in arrival order (at most MAX_WAITING of them). */
  private slots = new Limiter(MAX_IN_FLIGHT);
  private reminders = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private db: Db,
    private log: Logger,
    private config: () => NotifyConfig,
  ) {}

  private channels(cfg: NotifyConfig): string[] {
    return [...(cfg.command ? ["command"] : []), ...(cfg.webhook ? ["webhook"] : []), ...(cfg.desktop ? ["desktop"] : [])];
  }

  start(): void {
    // Only what happens from now on: a restart never re-sends history.
    this.cursor = lastAuditId(this.db);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const t of this.reminders.values()) clearTimeout(t);
    this.reminders.clear();
  }

  private tick(): void {
    const cfg = this.config();
    if (this.channels(cfg).length === 0) {
      this.cursor = lastAuditId(this.db);
      return;
    }
    try {
      for (let page = 0; page < 10; page++) {
        const rows = listAudit(this.db, { afterId: this.cursor, limit: 500, kinds: WATCHED as AuditRow["kind"][] });
        if (rows.length === 0) break;
        for (const row of rows) {
          this.cursor = Math.max(this.cursor, row.id);
          const task = row.task ? getTask(this.db, row.project ?? "", row.task) : null;
          const n = notificationFor(row, row.task ? getAttention(this.db, row.project ?? "", row.task) : "", task?.prUrl ?? "");
          if (!n) continue;
          if (cfg.kinds.length > 0 && !cfg.kinds.includes(n.kind)) continue;
          if (cfg.repos.length > 0 && !cfg.repos.includes(n.project)) continue;
          // One notification per attention item (the same text for the same task and kind).
          const key = `${n.project}/${n.task}/${n.kind}/${n.attention || n.message}`;
          if (this.sent.has(key)) continue;
          this.sent.add(key);
          if (this.sent.size > 10_000) this.sent.clear();
          this.deliver(n, cfg);
          if (n.kind !== "done" && n.attention && cfg.reminder_after_sec > 0) this.remindLater(n, key, cfg.reminder_after_sec);
        }
      }
    } catch (err) {
      this.log.warn(`notifications: ${(err as Error).message}`);
    }
  }

  private remindLater(n: Notification, key: string, sec: number): void {
    const t = setTimeout(() => {
      this.reminders.delete(key);
      // Still open, unchanged: one reminder.
      if (getAttention(this.db, n.project, n.task) === n.attention) this.deliver({ ...n, reminder: true, at: new Date().toISOString() }, this.config());
    }, sec * 1000);
    t.unref?.();
    this.reminders.set(key, t);
  }

  /** Deliver through every configured channel, in the background. */
  deliver(n: Notification, cfg: NotifyConfig): void {
    for (const ch of this.channels(cfg)) void this.deliverOne(ch, n, cfg);
  }

  /** Deliver once through each channel, without retries, and report (kas notify test): an answer within TIMEOUT_MS. */
  async test(): Promise<{ channel: string; ok: boolean; detail: string }[]> {
    const cfg = this.config();
    const n: Notification = { kind: "waiting", project: "kasmos", task: "notify-test", message: "a test notification from kas notify test", attention: "this is what an attention item looks like", pr_url: "", at: new Date().toISOString(), audit_id: 0, reminder: false };
    return Promise.all(this.channels(cfg).map(async (ch) => ({ channel: ch, ...(await this.attempts(ch, n, cfg, [])) })));
  }

  private async deliverOne(channel: string, n: Notification, cfg: NotifyConfig): Promise<{ ok: boolean; detail: string }> {
    if (this.slots.waiting >= MAX_WAITING) {
      const why = `not sent: ${MAX_WAITING} notifications are already waiting for a slow or failing channel`;
      recordAudit(this.db, { kind: "notify_failed", project: n.project, task: n.task, message: `${channel}: ${title(n)}: ${why}`, level: "warn", detail: { channel, kind: n.kind, audit_id: n.audit_id, dropped: true } });
      return { ok: false, detail: why };
    }
    return this.slots.run(() => this.attempts(channel, n, cfg));
  }

  /** One delivery with its retries; records how it ended. */
  private async attempts(channel: string, n: Notification, cfg: NotifyConfig, retries: readonly number[] = RETRIES): Promise<{ ok: boolean; detail: string }> {
    let last = "";
    for (let attempt = 0; attempt <= retries.length; attempt++) {
      try {
        await this.send(channel, n, cfg);
        recordAudit(this.db, { kind: "notify_sent", project: n.project, task: n.task, message: `${channel}: ${title(n)}${attempt > 0 ? ` (attempt ${attempt + 1})` : ""}`, detail: { channel, kind: n.kind, audit_id: n.audit_id, reminder: n.reminder, attempts: attempt + 1 } });
        return { ok: true, detail: attempt > 0 ? `delivered on attempt ${attempt + 1}` : "delivered" };
      } catch (err) {
        last = maskSecretsInText((err as Error).message);
        const wait = retries[attempt];
        if (wait !== undefined) await Bun.sleep(wait);
      }
    }
    recordAudit(this.db, { kind: "notify_failed", project: n.project, task: n.task, message: `${channel}: ${title(n)}: ${last}`, level: "warn", detail: { channel, kind: n.kind, audit_id: n.audit_id } });
    this.log.warn(`notification through ${channel} failed after ${retries.length + 1} attempt${retries.length === 0 ? "" : "s"}: ${last}`);
    return { ok: false, detail: last };
  }

  private async send(channel: string, n: Notification, cfg: NotifyConfig): Promise<void> {
    switch (channel) {
      case "webhook": {
        const req = webhookRequest(n, cfg.format);
        const r = await fetch(cfg.webhook, { method: "POST", body: req.body, headers: req.headers, signal: AbortSignal.timeout(TIMEOUT_MS) }).catch((err: unknown) => {
          throw (err as Error).name === "TimeoutError" ? new Error(`timed out: no answer within ${TIMEOUT_MS / 1000}s`) : err;
        });
        await r.arrayBuffer().catch(() => undefined);
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return;
      }
      case "command": {
        const argv = splitCommandLine(cfg.command);
        if (!argv.ok || argv.argv.length === 0) throw new Error(`notify.command: ${argv.ok ? "empty" : argv.error}`);
        const p = Bun.spawn(argv.argv, { stdin: new Blob([`${JSON.stringify(n)}\n`]), stdout: "ignore", stderr: "pipe", timeout: TIMEOUT_MS });
        const code = await p.exited;
        if (p.signalCode !== null) throw new Error(`timed out: killed (${p.signalCode}) after ${TIMEOUT_MS / 1000}s`);
        if (code !== 0) throw new Error(`exit ${code}: ${(await new Response(p.stderr).text()).trim().split("\n")[0] ?? ""}`);
        return;
      }
      case "desktop": {
        const tool = Bun.which("notify-send") ?? Bun.which("osascript");
        if (!tool) throw new Error("neither notify-send nor osascript is installed");
        const argv = tool.endsWith("osascript") ? [tool, "-e", `display notification ${JSON.stringify(n.attention || n.message)} with title ${JSON.stringify(title(n))}`] : [tool, title(n), n.attention || n.message];
        const code = await Bun.spawn(argv, { stdout: "ignore", stderr: "ignore", timeout: TIMEOUT_MS }).exited;
        if (code !== 0) throw new Error(`${tool} exited ${code}`);
        return;
      }
      default:
        throw new Error(`unknown channel ${channel}`);
    }
  }
}

// Which audit rows notify, and the webhook shapes (pure).
import { describe, expect, test } from "bun:test";
import { notificationFor, webhookRequest } from "../../src/daemon/notifier.ts";
import type { AuditRow } from "../../src/store/audit.ts";

const row = (o: Partial<AuditRow>): AuditRow => ({ id: 7, kind: "stuck_detected", timestamp: "2026-12-02T10:00:00Z", project: "shop", task: "t", fromStatus: null, toStatus: null, event: null, signalId: null, message: "coder t-coder exited", detail: null, level: "warn", ...o }) as AuditRow;

describe("notificationFor", () => {
  test("kinds: waiting (the attention row), stuck, failed, cap, budget, done; others none", () => {
    expect(notificationFor(row({ kind: "agent_waiting", message: "coder t-coder is waiting: Claude Code asks for permission" }), "x", "")?.kind).toBe("waiting");
    expect(notificationFor(row({ kind: "agent_waiting", message: "coder t-coder: Claude needs your permission" }), "", "")).toBeNull();
    expect(notificationFor(row({}), "att", "")).toMatchObject({ kind: "stuck", attention: "att", audit_id: 7 });
    expect(notificationFor(row({ kind: "agent_refused" }), "", "")?.kind).toBe("failed");
    expect(notificationFor(row({ kind: "attention", message: "review-fix cycle limit reached (3/3)" }), "", "")?.kind).toBe("cap");
    expect(notificationFor(row({ kind: "budget_exceeded" }), "", "")?.kind).toBe("budget");
    expect(notificationFor(row({ kind: "plan_transition", toStatus: "done" }), "", "https://github.com/o/r/pull/1")).toMatchObject({ kind: "done", pr_url: "https://github.com/o/r/pull/1" });
    expect(notificationFor(row({ kind: "plan_transition", toStatus: "reviewing" }), "", "")).toBeNull();
    expect(notificationFor(row({ kind: "signal_done" }), "", "")).toBeNull();
  });

  test("webhook formats: the event as JSON, a Slack message, an ntfy message with a title", () => {
    const n = notificationFor(row({}), "coder t-coder exited without its signal", "")!;
    expect(JSON.parse(webhookRequest(n, "json").body)).toMatchObject({ kind: "stuck", project: "shop", task: "t" });
    expect(JSON.parse(webhookRequest(n, "slack").body).text).toContain("kasmos: shop/t stuck\ncoder t-coder exited without its signal");
    const ntfy = webhookRequest(n, "ntfy");
    expect(ntfy.body).toBe("coder t-coder exited without its signal");
    expect(ntfy.headers.Title).toBe("kasmos: shop/t stuck");
  });
});

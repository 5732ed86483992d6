// Which audit rows notify, and the webhook shapes (pure).
import { describe, expect, test } from "bun:test";
import { notificationFor, webhookRequest } from "../../src/engine/notifier.ts";
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

describe("delivery slots", () => {
  test("a hanging webhook holds 8 slots; the rest wait in order (at most 1000), the overflow is recorded, and all waiting go out once it answers", async () => {
    const { Notifier } = await import("../../src/engine/notifier.ts");
    const { createDaemonLogger } = await import("../../src/runtime/log.ts");
    const { listAudit } = await import("../../src/store/audit.ts");
    const { tempStore } = await import("../store/helpers.ts");
    const store = tempStore();
    let answer = false;
    const held: (() => void)[] = [];
    let received = 0;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: () => {
        received++;
        if (answer) return new Response("ok");
        return new Promise<Response>((resolve) => held.push(() => resolve(new Response("ok"))));
      },
    });
    try {
      const cfg = { command: "", webhook: `http://127.0.0.1:${server.port}/hook`, format: "json" as const, desktop: false, kinds: [], repos: [], reminder_after_sec: 0 };
      const n = new Notifier(store.db, createDaemonLogger({ level: 0 }), () => cfg);
      for (let i = 0; i < 1010; i++) n.deliver({ ...notificationFor(row({ task: `t${i}` }), "", "")! }, cfg);
      const until = Date.now() + 10_000;
      while (received < 8 && Date.now() < until) await Bun.sleep(20);
      await Bun.sleep(200);
      expect(received).toBe(8); // the 9th waits for a slot instead of opening a 9th connection
      const dropped = listAudit(store.db, { kinds: ["notify_failed"] });
      expect(dropped).toHaveLength(2);
      expect(dropped[0]!.message).toContain("1000 notifications are already waiting");
      answer = true;
      for (const h of held) h();
      const done = Date.now() + 30_000;
      const sent = () => store.db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'notify_sent'").get()!.n;
      while (sent() < 1008 && Date.now() < done) await Bun.sleep(50);
      expect(sent()).toBe(1008);
      expect(received).toBe(1008);
      n.stop();
    } finally {
      server.stop(true);
      store.cleanup();
    }
  }, 60_000);
});

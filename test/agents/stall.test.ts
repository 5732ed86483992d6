// Reading a stall (the provider refusing the agent: a limit, an outage, a rejected login) from what the
// real CLIs showed and reported. The screens and payloads in test/fixtures/stall-screens were recorded
// from the pinned CLIs (Claude Code 2.1.328, codex 0.169.0) against the loopback model servers answering
// the APIs' own error responses (test/real-agents/model/faults.ts); test/real-agents/limits.test.ts
// checks the same reading against the live CLIs.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { claudeStallFromFailure } from "../../src/agents/harness/claude.ts";
import { harnessOf } from "../../src/agents/harness/index.ts";
import { resetTimeFrom } from "../../src/agents/harness/reset-time.ts";
import { activityFromEvent, stallFromPane } from "../../src/agents/supervise.ts";
import { ROOT } from "../helpers/env.ts";

const DIR = join(ROOT, "test", "fixtures", "stall-screens");
const screen = (name: string) => readFileSync(join(DIR, `${name}.screen`), "utf8");
const payloads = JSON.parse(readFileSync(join(DIR, "claude-stop-failure.json"), "utf8")) as Record<string, Record<string, unknown>>;
// The recordings were made at 19:54 on 7 December 2026 (the daemon's local time, as the CLIs print it).
const RECORDED = new Date(2026, 11, 7, 19, 54, 0).getTime();

describe("Claude Code", () => {
  const claude = harnessOf("claude");

  test("StopFailure reports → the stall, with the CLI's words; the turn has ended (idle)", () => {
    const rate = activityFromEvent("claude", "StopFailure", payloads["rate-limit"]!);
    expect(rate?.activity).toBe("idle");
    expect(rate?.stall).toMatchObject({ reason: "rate_limit", retrying: false, resetAt: null });
    expect(rate?.note).toStartWith("API Error: Request rejected (429)");
    // An API key's 429 reads as a rate limit, whatever the headers say: Claude Code shows no reset time for it.
    expect(claudeStallFromFailure(payloads["usage-limit"]!)?.reason).toBe("rate_limit");
    expect(claudeStallFromFailure(payloads["unauthorized"]!)).toMatchObject({ reason: "auth", note: "Invalid API key · Fix external API key" });
    // 529 after its own ten retries: error "server_error".
    expect(claudeStallFromFailure(payloads["overloaded"]!)).toMatchObject({ reason: "overloaded", resetAt: null });
  });

  test("a subscription's usage limit with its reset time; failures that are not the provider refusing are no stall", () => {
    const s = claudeStallFromFailure({ error: "rate_limit", last_assistant_message: "You've hit your limit · resets 9pm" }, RECORDED);
    expect(s).toMatchObject({ reason: "usage_limit", resetAt: new Date(2026, 11, 7, 21, 0, 59).getTime() });
    expect(claudeStallFromFailure({ error: "billing_error", last_assistant_message: "Credit balance is too low" })?.reason).toBe("billing");
    expect(claudeStallFromFailure({ error: "invalid_request", last_assistant_message: "API Error: 400 prompt is too long" })).toBeNull();
    expect(claudeStallFromFailure({ error: "max_output_tokens" })).toBeNull();
    expect(activityFromEvent("claude", "StopFailure", { error: "model_not_found", last_assistant_message: "model x not found" })).toEqual({ activity: "idle", note: "model x not found" });
  });

  test("recorded screens: the final error, and the CLI's own retries", () => {
    expect(stallFromPane(claude, screen("claude-rate-limit"), RECORDED)).toMatchObject({ reason: "rate_limit", retrying: false });
    expect(stallFromPane(claude, screen("claude-usage-limit"), RECORDED)).toMatchObject({ reason: "rate_limit", retrying: false });
    expect(stallFromPane(claude, screen("claude-overloaded"), RECORDED)).toMatchObject({ reason: "overloaded", retrying: false, resetAt: null });
    expect(stallFromPane(claude, screen("claude-unauthorized"), RECORDED)).toMatchObject({ reason: "auth", retrying: false });
    const retry = stallFromPane(claude, screen("claude-rate-limit-retrying"), RECORDED);
    expect(retry).toMatchObject({ reason: "rate_limit", retrying: true });
    // "retrying in 3s": the CLI's next attempt.
    expect(retry?.resetAt).toBe(RECORDED + 3000);
    expect(stallFromPane(claude, screen("claude-overloaded-retrying"), RECORDED)).toMatchObject({ reason: "overloaded", retrying: true, resetAt: RECORDED + 35_000 });
  });

  test("the subscription screens (not reachable with an API key) and a working pane", () => {
    expect(stallFromPane(claude, "● 5-hour limit reached ∙ resets 3pm\n  /upgrade to increase your usage limit.\n❯ \n", RECORDED)).toMatchObject({ reason: "usage_limit", resetAt: new Date(2026, 11, 8, 15, 0, 59).getTime() });
    expect(stallFromPane(claude, "⎿  Claude AI usage limit reached|1796680800\n", RECORDED)?.reason).toBe("usage_limit");
    expect(stallFromPane(claude, "● Running the next step.\n● Bash(git commit -m x)\n  ⎿  [main 1234567] x\n✻ Working… (3s · esc to interrupt)\n", RECORDED)).toBeNull();
  });
});

describe("codex", () => {
  const codex = harnessOf("codex");

  test("recorded screens: the ChatGPT plan's usage limit with its reset time, 429, 401, the 503 retries", () => {
    const usage = stallFromPane(codex, screen("codex-usage-limit"), RECORDED);
    expect(usage).toMatchObject({ reason: "usage_limit", retrying: false, resetAt: new Date(2026, 11, 7, 21, 24, 59).getTime() });
    expect(usage?.note).toStartWith("You’ve hit your usage limit.");
    expect(stallFromPane(codex, screen("codex-rate-limit"), RECORDED)).toMatchObject({ reason: "rate_limit", retrying: false });
    expect(stallFromPane(codex, screen("codex-unauthorized"), RECORDED)).toMatchObject({ reason: "auth", retrying: false });
    expect(stallFromPane(codex, screen("codex-overloaded-retrying"), RECORDED)).toMatchObject({ reason: "overloaded", retrying: true });
    // Recorded by test/real-agents/limits.test.ts: a stream retry after the request's own retries gave up.
    expect(stallFromPane(codex, screen("codex-rate-limit-retrying"), RECORDED)).toMatchObject({ reason: "rate_limit", retrying: true });
  });

  test("a refused turn sends no notify: only the pane tells; a working pane is no stall", () => {
    expect(activityFromEvent("codex", "notify", { type: "agent-turn-complete", "last-assistant-message": "done" })?.stall).toBeUndefined();
    expect(stallFromPane(codex, "  >_ OpenAI Codex (v0.169.0)\n\n› fix the bug\n\n• Working (3s • esc to interrupt)\n", RECORDED)).toBeNull();
  });
});

test("a stall above a message kasmos typed in (a continue, a nudge) is an old one; one below it is new", () => {
  const codex = harnessOf("codex");
  const old = "■ You’ve hit your usage limit. Visit https://chatgpt.com/settings/usage or try again at 9:24 PM.\n\n› kasmos: the usage limit has passed. Continue the task you were working on\n\n• Working (3s • esc to interrupt)\n";
  expect(stallFromPane(codex, old, RECORDED)).toBeNull();
  const again = `${old}\n■ You’ve hit your usage limit. Visit https://chatgpt.com/settings/usage or try again at 9:30 PM.\n`;
  expect(stallFromPane(codex, again, RECORDED)?.resetAt).toBe(new Date(2026, 11, 7, 21, 30, 59).getTime());
  const claude = harnessOf("claude");
  expect(stallFromPane(claude, "● API Error: Request rejected (429) · rate limit\n❯ kasmos: your turn ended but kasmos has not received your completion signal.\n● Done.\n", RECORDED)).toBeNull();
});

describe("opencode", () => {
  const opencode = harnessOf("opencode");
  test("recorded screens: its own retries of a usage or rate limit (left to it), a rejected key", () => {
    expect(stallFromPane(opencode, screen("opencode-usage-limit-retrying"), RECORDED)).toMatchObject({ reason: "usage_limit", retrying: true });
    expect(stallFromPane(opencode, screen("opencode-rate-limit-retrying"), RECORDED)).toMatchObject({ reason: "rate_limit", retrying: true });
    const auth = stallFromPane(opencode, screen("opencode-unauthorized"), RECORDED);
    expect(auth).toMatchObject({ reason: "auth", retrying: false });
    // The side column ("$0.00 spent") is not part of the words.
    expect(auth?.note).toBe("Incorrect API key provided: loopback-key. You can find your API key at https://platform.openai.com/account/api-keys.");
  });
});

test("a harness without stall patterns reads none", () => {
  expect(stallFromPane(harnessOf("generic"), "API Error: Request rejected (429)", RECORDED)).toBeNull();
});

describe("reset times as the CLIs write them", () => {
  // To the minute: the end of that minute (the CLIs drop the seconds).
  const at = (y: number, mo: number, d: number, h: number, mi = 0, s = 59) => new Date(y, mo, d, h, mi, s).getTime();
  test.each([
    ["… or try again at 9:24 PM.", at(2026, 11, 7, 21, 24)],
    ["try again at Dec 8th, 2026 9:24 AM.", at(2026, 11, 8, 9, 24)],
    ["5-hour limit reached ∙ resets 3pm", at(2026, 11, 8, 15)],
    ["resets 7:50pm", at(2026, 11, 7, 19, 50)], // four minutes ago: it has just lifted, not tomorrow's
    ["Try again after 15:59:02", at(2026, 11, 8, 15, 59, 2)],
    ["resets Dec 9, 10am", at(2026, 11, 9, 10)],
  ])("%p", (text, want) => {
    expect(resetTimeFrom(text, RECORDED)).toBe(want);
  });

  test("durations and zones", () => {
    expect(resetTimeFrom("Please try again in 2s.", RECORDED)).toBe(RECORDED + 2000);
    expect(resetTimeFrom("try again in 6m0s", RECORDED)).toBe(RECORDED + 360_000);
    expect(resetTimeFrom("retry after 5 minutes", RECORDED)).toBe(RECORDED + 300_000);
    const utcNow = Date.UTC(2026, 11, 7, 12, 0, 0);
    expect(resetTimeFrom("resets 13:30 (UTC)", utcNow)).toBe(Date.UTC(2026, 11, 7, 13, 30, 59));
    // Berlin is UTC+1 in December.
    expect(resetTimeFrom("You've hit your limit · resets 3pm (Europe/Berlin)", utcNow)).toBe(Date.UTC(2026, 11, 7, 14, 0, 59));
  });

  test("no time named: null", () => {
    for (const t of ["resets 3", "try again in a moment", "try again later", "Rate limit reached", ""]) expect(resetTimeFrom(t, RECORDED)).toBeNull();
  });
});

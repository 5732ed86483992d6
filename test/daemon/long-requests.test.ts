// Requests that take a while are answered, and the CLI tells a timeout from a daemon that is not
// running. Before: the server's 10 s idle timeout cut any longer request (a hanging webhook in
// `kas notify test`, a long gc, a restart), and the CLI reported the reset as "daemon not running".
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Sandbox } from "../helpers/env.ts";

describe("long requests", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  test("kas notify test with a webhook that never answers: the webhook is reported timed out (exit 1, text and --json), not 'daemon not running'", async () => {
    // Accepts and never answers.
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    sb.writeConfig(`[notify]\nwebhook = "http://127.0.0.1:${silent.port}/hook"\ncommand = "sh -c 'cat > /dev/null'"\n`);
    const daemon = await sb.foreground();
    try {
      const started = Date.now();
      const [text, json] = await Promise.all([sb.run(["notify", "test"], { timeoutMs: 60_000 }), sb.run(["notify", "test", "--json"], { timeoutMs: 60_000 })]);
      expect(Date.now() - started).toBeGreaterThan(9_000); // it did wait for the webhook's own timeout
      expect(text.stderr).not.toContain("daemon not running");
      expect(text.stdout).toContain("FAIL webhook: timed out: no answer within 10s");
      expect(text.stdout).toContain("ok   command");
      expect(text.code).toBe(1);
      const results = (JSON.parse(json.stdout) as { results: { channel: string; ok: boolean; detail: string }[] }).results;
      expect(results.map((r) => [r.channel, r.ok]).sort()).toEqual([["command", true], ["webhook", false]]);
      expect(json.code).toBe(1);
    } finally {
      daemon.kill("SIGTERM");
      await daemon.exited;
      silent.stop(true);
    }
  }, 90_000);

  test("the CLI says 'timed out' (and which request) for a daemon that does not answer, and 'closed the connection' for one that hangs up", async () => {
    const dir = join(sb.dir, "fake");
    mkdirSync(dir, { mode: 0o700 });
    const sock = join(dir, "kas.sock");
    // A daemon stand-in: silent on GET /v1/status, hangs up on anything else.
    const fake = Bun.listen({ unix: sock, socket: { data(s, d) { if (!String(d).includes("/v1/status")) s.end(); } } });
    try {
      const slow = await sb.run(["daemon", "status", "--socket", sock], { timeoutMs: 30_000 });
      expect(slow.code).toBe(1);
      expect(slow.stderr).toContain("timed out after 5s waiting for the daemon to answer GET /v1/status");
      const cut = await sb.run(["daemon", "add", sb.dir, "--socket", sock], { timeoutMs: 30_000 });
      expect(cut.code).toBe(1);
      expect(cut.stderr).toContain("the daemon closed the connection before answering POST /v1/repos");
      expect(cut.stderr).not.toContain("daemon not running");
    } finally {
      fake.stop(true);
    }
  }, 60_000);
});

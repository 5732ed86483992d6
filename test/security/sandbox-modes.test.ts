// What [sandbox] mode and network mean for a real start by the daemon: "bwrap" where bubblewrap cannot
// run refuses the start with the reason and the fix (attention item), "auto" there runs the agent
// unsandboxed and says so once in the log and in kas doctor; network = "off" leaves a loopback
// server outside unreachable from inside, "on" reaches it.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createPlanned, FAKE_AGENT, fakeAgentConfig, SMALL_PLAN } from "../helpers/agents.ts";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox("ksm-");
});
afterEach(async () => {
  await sb.cleanup();
});

/** A PATH with every program of /usr/bin but bwrap: a machine without bubblewrap. */
function pathWithoutBwrap(): string {
  const bin = join(sb.dir, "bin");
  mkdirSync(bin);
  for (const name of readdirSync("/usr/bin")) if (name !== "bwrap") symlinkSync(join("/usr/bin", name), join(bin, name));
  return bin;
}

const task = (name: string) => sb.query<{ status: string; attention: string }>("SELECT status, attention FROM tasks WHERE name = ?", name)[0];

describe("[sandbox] mode where bubblewrap cannot run", () => {
  test('"bwrap": the start is refused with the reason and the fix; kas doctor says why', async () => {
    const env = { PATH: pathWithoutBwrap() };
    const repo = makeGitRepo(sb.dir, "shop");
    sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0", '[sandbox]\nmode = "bwrap"\n'));
    const daemon = await sb.foreground([], env);
    expect((await sb.run(["daemon", "add", repo], { env })).code).toBe(0);
    await createPlanned(sb, repo, "feat", SMALL_PLAN);
    await waitFor(() => (task("feat")?.attention ?? "") !== "", 30_000, "the refusal");
    expect(task("feat")!.attention).toContain("bubblewrap (bwrap) is not installed");
    expect(task("feat")!.attention).toContain("apt-get install bubblewrap");
    expect(sb.query("SELECT * FROM agents WHERE task = 'feat' AND session != ''")).toEqual([]); // nothing started
    const doctor = await sb.run(["doctor"], { env });
    expect(doctor.stdout).toMatch(/sandbox.*bubblewrap \(bwrap\) is not installed.*require it/);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 60_000);

  test('"auto": agents run unsandboxed, said once in the log, on the agent and by kas doctor', async () => {
    const env = { PATH: pathWithoutBwrap() };
    const repo = makeGitRepo(sb.dir, "shop");
    sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0"));
    const daemon = await sb.foreground([], env);
    expect((await sb.run(["daemon", "add", repo], { env })).code).toBe(0);
    await createPlanned(sb, repo, "feat", SMALL_PLAN);
    await waitFor(() => task("feat")?.status === "done", 60_000, "feat to reach done");
    const agents = sb.query<{ sandbox: string }>("SELECT sandbox FROM agents WHERE task = 'feat'");
    expect(agents.length).toBeGreaterThanOrEqual(2); // coder, reviewer (and the master, when it ran)
    for (const a of agents) expect(a.sandbox).toBe("off (bubblewrap (bwrap) is not installed)");
    const doctor = await sb.run(["doctor"], { env });
    expect(doctor.stdout).toMatch(/sandbox.*agents run unsandboxed \(mode = "auto"\)/);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    const log = await new Response(daemon.stderr).text();
    expect(log.match(/agents run unsandboxed/g)?.length).toBe(1);
  }, 90_000);
});

describe("[sandbox] network", () => {
  for (const network of ["off", "on"] as const) {
    test(`network = "${network}": a loopback server outside is ${network === "off" ? "unreachable" : "reached"} from inside`, async () => {
      let hits = 0;
      const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (hits++, new Response("ok")) });
      try {
        const repo = makeGitRepo(sb.dir, "shop");
        const coder = `sh -c 'curl -s -m 3 http://127.0.0.1:${server.port}/ >/dev/null; exec ${FAKE_AGENT} \\"$0\\"'`;
        sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0", `[agents.coder]\nprogram = "${coder}"\n[sandbox]\nnetwork = "${network}"\nread = ["${dirname(FAKE_AGENT)}"]\n`));
        const daemon = await sb.foreground();
        expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
        await createPlanned(sb, repo, "feat", SMALL_PLAN);
        await waitFor(() => task("feat")?.status === "done", 60_000, "feat to reach done");
        expect(hits).toBe(network === "off" ? 0 : 1);
        const coderRow = sb.query<{ sandbox: string }>("SELECT sandbox FROM agents WHERE role = 'coder'")[0]!;
        expect(coderRow.sandbox).toStartWith(`bwrap (network ${network};`);
        daemon.kill("SIGTERM");
        expect(await daemon.exited).toBe(0);
      } finally {
        server.stop(true);
      }
    }, 90_000);
  }

  test('a list of hosts: an allowed loopback host is reached through kasmos\'s proxy, another is refused (403, audited)', async () => {
    let allowedHits = 0;
    let refusedHits = 0;
    const allowed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (allowedHits++, new Response("ok")) });
    const refused = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (refusedHits++, new Response("ok")) });
    try {
      const repo = makeGitRepo(sb.dir, "shop");
      // The second server is asked for by a name the list does not hold.
      const coder = `sh -c 'curl -s -m 5 -o /dev/null http://127.0.0.1:${allowed.port}/; curl -s -m 5 -o /dev/null http://localhost:${refused.port}/; exec ${FAKE_AGENT} \\"$0\\"'`;
      sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0", `[agents.coder]\nprogram = "${coder}"\n[sandbox]\nnetwork = ["127.0.0.1", "*.example.com"]\nread = ["${dirname(FAKE_AGENT)}"]\n`));
      const daemon = await sb.foreground();
      expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
      await createPlanned(sb, repo, "feat", SMALL_PLAN);
      await waitFor(() => task("feat")?.status === "done", 60_000, "feat to reach done");
      expect(allowedHits).toBe(1);
      expect(refusedHits).toBe(0);
      const refusals = sb.query<{ message: string; detail: string }>("SELECT message, detail FROM audit_events WHERE kind = 'agent_forbidden'");
      expect(refusals.map((r) => (JSON.parse(r.detail) as { host: string }).host)).toEqual(["localhost"]);
      expect(sb.query<{ sandbox: string }>("SELECT sandbox FROM agents WHERE role = 'coder'")[0]!.sandbox).toContain("network only 127.0.0.1, *.example.com through kasmos's proxy");
      daemon.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
    } finally {
      allowed.stop(true);
      refused.stop(true);
    }
  }, 90_000);
});

describe("the agent's program inside", () => {
  test("a script whose #! names an interpreter kept under $HOME (as nvm keeps node) runs: the interpreter is bound with it", async () => {
    const tools = join(sb.home, ".tools", "bin");
    mkdirSync(tools, { recursive: true });
    copyFileSync("/bin/sh", join(tools, "myshell"));
    chmodSync(join(tools, "myshell"), 0o755);
    const agent = join(sb.dir, "agent", "coder.sh");
    mkdirSync(dirname(agent));
    writeFileSync(agent, `#!/usr/bin/env myshell\nexec ${FAKE_AGENT} "$@"\n`);
    chmodSync(agent, 0o755);
    const repo = makeGitRepo(sb.dir, "shop");
    sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0", `[agents.coder]\nprogram = "${agent}"\n[sandbox]\nread = ["${dirname(FAKE_AGENT)}"]\n`));
    const daemon = await sb.foreground([], { PATH: `${tools}:${process.env.PATH ?? "/usr/bin:/bin"}` });
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    await createPlanned(sb, repo, "feat", SMALL_PLAN);
    await sb.waitFor(() => task("feat")?.status === "done", 60_000, "feat to reach done");
    expect(sb.query<{ sandbox: string }>("SELECT sandbox FROM agents WHERE role = 'coder'")[0]!.sandbox).toStartWith("bwrap");
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 90_000);
});

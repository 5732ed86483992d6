// Adding an agent CLI is one file: a fifth harness kept in test/fixtures/fifth-harness/ (fifthcli.ts,
// registered through registerHarness as the built-ins are) is compiled into kasmos by the project's own
// build, with no change to src/, and an agent runs through it end to end: started in tmux with the
// harness's argv and hook file, its hook reports read by the harness's own event mapping (the stock
// binary would forward them as generic's, which knows none of its words), its usage read by its reader.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "../../scripts/build.ts";
import { createPlanned, SMALL_PLAN } from "../helpers/agents.ts";
import { makeGitRepo, ROOT, Sandbox } from "../helpers/env.ts";

const FIXTURE = join(ROOT, "test", "fixtures", "fifth-harness");
let binDir = "";

beforeAll(async () => {
  binDir = mkdtempSync(join(tmpdir(), "kfifth-bin-"));
  await build({ entry: join(FIXTURE, "kasmos-with-fifthcli.ts"), outfile: join(binDir, "kasmos") });
}, 180_000);
afterAll(() => {
  if (binDir) rmSync(binDir, { recursive: true, force: true });
});

interface AgentRow {
  title: string;
  session: string;
  program: string;
  harness: string;
  activity: string;
  activity_note: string;
  transcript: string;
}

test("an agent runs through a harness registered from test/: tmux start, hook reports mapped by it, usage read by it", async () => {
  const sb = new Sandbox("kf-");
  try {
    const bin = join(binDir, "kasmos");
    const repo = makeGitRepo(sb.dir, "app");
    sb.writeConfig(["poll_interval_sec = 0.2", `default_program = "${join(FIXTURE, "fifthcli")}"`].join("\n"));
    await sb.foreground([], {}, bin);
    const added = await sb.run(["daemon", "add", repo], { bin });
    expect(added.code, added.stderr).toBe(0);
    await createPlanned(sb, repo, "feat", SMALL_PLAN);

    const coder = () => sb.query<AgentRow>("SELECT title, session, program, harness, activity, activity_note, transcript FROM agents WHERE role = 'coder'")[0];
    // "idle" only comes from fifthcli's "turn-end" report read by its harness.
    await sb.waitFor(() => coder()?.activity === "idle", 60_000, "the fifthcli coder's turn-end report to be read");
    // The transcript a report names is noted after the report's activity (off the request path).
    await sb.waitFor(() => (coder()?.transcript ?? "") !== "", 30_000, "the transcript its harness found in a report to be noted");
    const a = coder()!;
    expect(a.harness).toBe("fifthcli");
    expect(a.activity_note).toBe("fifthcli read its prompt");
    // Started with the argv its harness built: the hook file in the agent's run folder, the prompt file last.
    expect(a.program.startsWith(`${join(FIXTURE, "fifthcli")} --hooks /`)).toBe(true);
    expect(a.program).toMatch(/ --hooks \/\S+\/fifthcli-hooks\.sh \/\S+$/);
    expect(a.transcript).toBe(join(sb.home, ".fifthcli", `${a.title}.jsonl`));

    // Running in the sandbox's tmux server, its pane showing the turn.
    // (The CLI reports its turn's end a moment before it prints it.)
    const paneText = () => Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "capture-pane", "-p", "-t", a.session]).stdout.toString();
    await sb.waitFor(() => paneText().includes("fifthcli: turn ended"), 30_000, "the pane to show the turn's end");

    // Both answers of its log counted once, by model, through `kas usage`.
    const usage = async () => {
      const r = await sb.run(["usage", "--by", "model", "--json"], { bin });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { groups: { key: string; input: number; output: number; agent_runs: number }[] }).groups;
    };
    await sb.waitFor(async () => (await usage()).some((g) => g.key === "fifth-1"), 15_000, "fifthcli's usage to be read");
    expect(await usage()).toEqual([expect.objectContaining({ key: "fifth-1", input: 2000, output: 100, agent_runs: 1 })]);
  } finally {
    await sb.cleanup();
  }
}, 240_000);

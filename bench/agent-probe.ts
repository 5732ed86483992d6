// A latency probe that runs next to a load: its own repo whose `.kasmos/config.toml` makes every agent
// idle, one task seeded as implementing, and a loop that writes implement-finished-<task> /
// review-changes-<task> alternately and times, from the daemon's SSE stream, the rename → transition
// committed (`plan_transition`), rename → that event received here (SSE latency) and rename → next
// agent's session (`agent_spawned`). Seed before the daemon starts (`prepare`), register and `start`
// once it runs, `stop` to get the samples.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Sandbox } from "./lib.ts";
import { IDLE_AGENT, tomlString } from "./agent-lib.ts";
import { type AuditEvent, EventStream, registerRepo, seedTasks, signalsDir, wallMs, writeSignalAtomic } from "./signal-lib.ts";

const EVENT_TIMEOUT_MS = 20_000;
const MAX_ROUNDS = 2_000;

export interface ProbeSample {
  commit: number; // ms, rename → plan_transition timestamp
  spawn: number; // ms, rename → agent_spawned timestamp
  sse: number; // ms, rename → the plan_transition event received by this SSE client
}

export class AgentProbe {
  readonly repo: string;
  readonly samples: ProbeSample[] = [];
  error: string | null = null;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private es: EventStream | null = null;

  private constructor(
    readonly project: string,
    readonly task: string,
    repo: string,
    private readonly gapMs: [number, number],
  ) {
    this.repo = repo;
  }

  /** Create the probe repo (idle agents via repo config) and seed its task; call before the daemon starts. */
  static prepare(sb: Sandbox, project = "aprobe", task = "p", gapMs: [number, number] = [100, 200]): AgentProbe {
    const repo = sb.makeGitRepo(project);
    mkdirSync(join(repo, ".kasmos"), { recursive: true });
    writeFileSync(join(repo, ".kasmos", "config.toml"), `default_program = ${tomlString(IDLE_AGENT)}\n`);
    seedTasks(sb, project, [task], "implementing");
    return new AgentProbe(project, task, repo, gapMs);
  }

  /** Register the probe repo and approve its config (`kas daemon trust`): the idle program it names runs only then. */
  async register(socket: string): Promise<void> {
    await registerRepo(socket, this.repo);
    const r = await fetch(`http://kasmos/v1/repos/${this.project}/trust`, { unix: socket, method: "POST", signal: AbortSignal.timeout(10_000) });
    const text = await r.text();
    if (r.status !== 200 || (JSON.parse(text) as { status: string }).status !== "trusted") throw new Error(`POST /v1/repos/${this.project}/trust → ${r.status}: ${text}`);
  }

  async start(socket: string): Promise<void> {
    this.es = await EventStream.open(socket, `project=${this.project}&kinds=plan_transition,agent_spawned`);
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const es = this.es!;
    const dir = signalsDir(this.repo);
    let round = 0;
    let toReviewing = true;
    try {
      for (let i = 0; i < MAX_ROUNDS && !this.stopping; i++) {
        if (toReviewing) round++;
        const title = toReviewing ? `${this.task}-review-${round}` : `${this.task}-fix-${round}`;
        const [lo, hi] = this.gapMs;
        await Bun.sleep(lo + Math.random() * (hi - lo));
        if (this.stopping) break;
        writeSignalAtomic(dir, toReviewing ? `implement-finished-${this.task}` : `review-changes-${this.task}`, toReviewing ? "" : "probe\n");
        const w = wallMs();
        let commit = Number.NaN;
        let spawn = Number.NaN;
        let sse = Number.NaN;
        for (let k = 0; k < 20 && Number.isNaN(spawn); k++) {
          const ev = (await es.next(EVENT_TIMEOUT_MS)) as AuditEvent & { detail: Record<string, unknown> | null };
          if (ev.kind === "plan_transition") {
            sse = wallMs() - w;
            commit = Date.parse(ev.timestamp) - w;
          }
          else if (ev.kind === "agent_spawned" && ev.detail?.title === title) spawn = Date.parse(ev.timestamp) - w;
        }
        if (Number.isNaN(commit) || Number.isNaN(spawn)) throw new Error(`probe round ${i}: no transition / agent_spawned for ${title}`);
        this.samples.push({ commit, spawn, sse });
        toReviewing = !toReviewing;
      }
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
  }

  /** Finish the round in flight (bounded by the event timeout) and close the stream. */
  async stop(): Promise<ProbeSample[]> {
    this.stopping = true;
    await this.loop;
    this.es?.close();
    return this.samples;
  }
}

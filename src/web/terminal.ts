// Agents' terminals for the Agent page. Output is copied from the pane as it is printed (tmux
// pipe-pane into a FIFO in kasmos's private run folder, read by a `cat` child), not captured once a
// second: one pipe per agent however many pages watch it, stopped when the last one leaves. Each
// stream starts with the screen as it is (with colours), so a page that (re)connects is whole at once.
// Typing is refused until someone takes the terminal over; taking over, handing back and every input
// are audited (input by length, never its text).
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { TerminalEvent } from "../api/terminal.ts";
import { recordedSessionTitle } from "../agents/session-name.ts";
import type { Tmux } from "../agents/tmux.ts";
import { configDir } from "../config/paths.ts";
import { ensurePrivateDir } from "../config/private-state.ts";
import { type AgentRow, liveAgentByTitle } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { Refused } from "../util/errors.ts";

const enc = new TextEncoder();
/** A viewer this far behind is cut off; its page reconnects and gets the screen afresh. */
const MAX_QUEUED_BYTES = 2 * 1024 * 1024;
const HEARTBEAT_MS = 5000;
/** Viewers of one agent at once. */
const MAX_VIEWERS = 20;

interface Viewer {
  ctrl: ReadableStreamDefaultController<Uint8Array>;
}

interface Pipe {
  agent: AgentRow;
  session: string;
  fifo: string;
  reader: Bun.Subprocess<"ignore", "pipe", "ignore"> | null;
  viewers: Set<Viewer>;
  heartbeat: ReturnType<typeof setInterval>;
}

function sse(name: string, data: TerminalEvent): Uint8Array {
  return enc.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class TerminalHub {
  private pipes = new Map<number, Pipe>();
  /** Agent ids whose terminal someone took over. */
  private takenOver = new Set<number>();

  constructor(
    private db: Db,
    private tmux: Tmux,
  ) {}

  private agent(project: string, title: string): AgentRow {
    const a = liveAgentByTitle(this.db, project, title);
    if (!a) throw new Refused("not_found", `instance not running: ${title}`);
    return a;
  }

  /** The terminal stream of a running agent. */
  async stream(project: string, title: string): Promise<Response> {
    const agent = this.agent(project, title);
    const session = recordedSessionTitle(agent);
    const screen = await this.tmux.screen(session).catch((err: Error) => {
      throw new Refused("not_found", `no terminal for ${title}: ${err.message}`);
    });
    let pipe = this.pipes.get(agent.id);
    if (pipe && pipe.viewers.size >= MAX_VIEWERS) throw new Refused("too_many", `${MAX_VIEWERS} viewers of ${title} already`);
    let viewer: Viewer | null = null;
    const body = new ReadableStream<Uint8Array>({
      start: (ctrl) => {
        viewer = { ctrl };
        ctrl.enqueue(enc.encode("retry: 1000\n\n"));
        ctrl.enqueue(sse("screen", { screen: screen.text, cursor_x: screen.cursorX, cursor_y: screen.cursorY, cols: screen.cols, rows: screen.rows, taken_over: this.takenOver.has(agent.id) }));
      },
      cancel: () => {
        if (viewer) this.leave(agent.id, viewer);
      },
    });
    pipe ??= await this.open(agent, session);
    if (viewer) pipe.viewers.add(viewer);
    return new Response(body, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" } });
  }

  private async open(agent: AgentRow, session: string): Promise<Pipe> {
    const dir = join(configDir(), "run", "web");
    ensurePrivateDir(dir);
    const fifo = join(dir, `term-${agent.id}-${randomBytes(6).toString("hex")}.fifo`);
    const made = Bun.spawnSync(["mkfifo", "-m", "600", fifo], { stdout: "ignore", stderr: "pipe" });
    if (made.exitCode !== 0) throw new Refused("unavailable", `cannot make a pipe for the terminal: ${made.stderr.toString().trim()}`);
    const pipe: Pipe = { agent, session, fifo, reader: null, viewers: new Set(), heartbeat: setInterval(() => this.broadcast(pipe, enc.encode(": heartbeat\n\n")), HEARTBEAT_MS) };
    this.pipes.set(agent.id, pipe);
    // The reader opens the FIFO first (blocking in its own process until tmux's writer opens it).
    pipe.reader = Bun.spawn(["cat", fifo], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
    try {
      await this.tmux.pipeOutput(session, `exec cat > ${shellQuote(fifo)}`);
    } catch (err) {
      this.close(pipe, `cannot follow the terminal: ${(err as Error).message}`);
      throw new Refused("unavailable", `cannot follow the terminal of ${agent.title}: ${(err as Error).message}`);
    }
    void this.pump(pipe);
    return pipe;
  }

  private async pump(pipe: Pipe): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of pipe.reader!.stdout) {
        const text = decoder.decode(chunk, { stream: true });
        if (text !== "") this.broadcast(pipe, sse("output", { output: text }));
      }
    } catch {
      // the reader was stopped
    }
    this.close(pipe, "the agent's terminal closed");
  }

  private broadcast(pipe: Pipe, bytes: Uint8Array): void {
    for (const v of pipe.viewers) {
      try {
        v.ctrl.enqueue(bytes);
        if ((v.ctrl.desiredSize ?? 0) < -MAX_QUEUED_BYTES) {
          v.ctrl.close();
          this.leave(pipe.agent.id, v);
        }
      } catch {
        this.leave(pipe.agent.id, v);
      }
    }
  }

  private leave(agentId: number, viewer: Viewer): void {
    const pipe = this.pipes.get(agentId);
    if (!pipe) return;
    pipe.viewers.delete(viewer);
    if (pipe.viewers.size === 0) this.close(pipe, "no viewer left");
  }

  private close(pipe: Pipe, why: string): void {
    if (this.pipes.get(pipe.agent.id) !== pipe) return;
    this.pipes.delete(pipe.agent.id);
    clearInterval(pipe.heartbeat);
    for (const v of pipe.viewers) {
      try {
        v.ctrl.enqueue(sse("end", { end: why }));
        v.ctrl.close();
      } catch {
        // already closed
      }
    }
    pipe.viewers.clear();
    void this.tmux.pipeOutput(pipe.session, null).catch(() => undefined);
    const pid = pipe.reader?.pid;
    if (pid !== undefined && pipe.reader?.exitCode === null) pipe.reader.kill("SIGTERM");
    rmSync(pipe.fifo, { force: true });
  }

  takeover(project: string, title: string, release: boolean, who: string): { title: string; taken_over: boolean } {
    const a = this.agent(project, title);
    const had = this.takenOver.has(a.id);
    if (release) this.takenOver.delete(a.id);
    else this.takenOver.add(a.id);
    if (had !== !release) {
      recordAudit(this.db, { kind: release ? "terminal_released" : "terminal_takeover", project, task: a.task, level: release ? "info" : "warn", message: `${title}'s terminal ${release ? "handed back" : "taken over"} by ${who}`, detail: { title, by: who } });
      const pipe = this.pipes.get(a.id);
      if (pipe) this.broadcast(pipe, sse("takeover", { taken_over: !release }));
    }
    return { title, taken_over: !release };
  }

  async type(project: string, title: string, text: string, who: string): Promise<void> {
    const a = this.agent(project, title);
    if (!this.takenOver.has(a.id)) throw new Refused("conflict", `${title}'s terminal is read-only: take it over first (POST …/takeover)`);
    await this.tmux.typeLiteral(recordedSessionTitle(a), text);
    recordAudit(this.db, { kind: "terminal_input", project, task: a.task, message: `${text.length} character${text.length === 1 ? "" : "s"} typed into ${title} by ${who}`, detail: { title, chars: text.length, by: who } });
  }

  /** Daemon stopping: every pipe closed, every reader stopped. */
  stop(): void {
    for (const pipe of [...this.pipes.values()]) this.close(pipe, "the daemon is stopping");
  }
}

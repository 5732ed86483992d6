// Agents (instances) on the wire: list, capture, send, kill, restart, a task's retry, and the reports
// agent CLIs send through `kasmos agent hook`.
import * as v from "valibot";
import { harnessNames, harnessNamesInWords } from "../agents/harness/registry.ts";
import type { AgentRow } from "../store/agents.ts";
import { defineRoute, flagParam, textParam } from "./route.ts";

const name = (what: string) => v.pipe(v.string(`${what} must be a string`), v.minLength(1, `${what} is required`), v.maxLength(255, `${what} is too long`));

/** An agent CLI's own report (a Claude Code hook, a codex notify call), forwarded by `kasmos agent hook`. */
export const AgentEventBody = v.object({
  project: name("project"),
  title: name("title"),
  cli: v.picklist(harnessNames(), `cli must be ${harnessNamesInWords()}`),
  event: v.pipe(v.string("event must be a string"), v.minLength(1, "event is required"), v.maxLength(64, "event is too long")),
  payload: v.optional(v.record(v.string(), v.unknown()), {}),
});
export type AgentEventBody = v.InferOutput<typeof AgentEventBody>;

export const AgentEventReply = v.strictObject({
  /** How kasmos read the event: the agent's activity now ("" = ignored). */
  activity: v.string(),
});
export type AgentEventReply = v.InferOutput<typeof AgentEventReply>;

/** `kas agent restart` / `kas task retry`. */
export const RestartReply = v.strictObject({
  task: v.string(),
  /** Titles restarted (their old sessions stopped, if any). */
  restarted: v.array(v.string()),
  /** What the task's state allows, in words, when nothing could be restarted. */
  note: v.string(),
});
export type RestartReply = v.InferOutput<typeof RestartReply>;

export const Agent = v.strictObject({
  id: v.number(),
  project: v.string(),
  task: v.string(),
  title: v.string(),
  role: v.string(),
  wave: v.number(),
  task_number: v.number(),
  session: v.string(),
  cwd: v.string(),
  program: v.string(),
  state: v.picklist(["running", "exited", "killed", "failed"]),
  exit_status: v.nullable(v.number()),
  reason: v.string(),
  started_at: v.string(),
  ended_at: v.nullable(v.string()),
  /** HEAD of the task branch when the agent started (masters: the commit under review). */
  base_sha: v.string(),
  /** The CLI harness that started it. */
  harness: v.string(),
  /** Whether it runs in kasmos's sandbox and under which policy: "bwrap (…)", "off (why)"; "" = not recorded. */
  sandbox: v.string(),
  /** What it is doing: starting, working, idle (turn ended), waiting (for a person), ended; "" = unknown. */
  activity: v.string(),
  activity_at: v.nullable(v.string()),
  /** The CLI's own message with the activity (a permission prompt's text, …). */
  activity_note: v.string(),
  /** The CLI's record of this run, when known: its transcript file (claude, codex), or its session id (opencode). */
  transcript: v.string(),
  /** Times kasmos typed a reminder into it. */
  nudges: v.number(),
  /** Last non-empty pane lines when it ended (why it exited). */
  last_lines: v.string(),
});
export type Agent = v.InferOutput<typeof Agent>;

export function toAgent(a: AgentRow): Agent {
  return {
    id: a.id,
    project: a.project,
    task: a.task,
    title: a.title,
    role: a.role,
    wave: a.wave,
    task_number: a.taskNumber,
    session: a.session,
    cwd: a.cwd,
    program: a.program,
    state: a.state,
    exit_status: a.exitStatus,
    reason: a.reason,
    started_at: a.startedAt,
    ended_at: a.endedAt,
    base_sha: a.baseSha,
    harness: a.harness,
    sandbox: a.sandbox,
    activity: a.activity,
    activity_at: a.activityAt,
    activity_note: a.activityNote,
    transcript: a.transcript,
    nudges: a.nudges,
    last_lines: a.lastLines,
  };
}

export const listAgents = defineRoute({
  method: "GET",
  path: "/v1/repos/:project/instances",
  summary: "Running agents of a repository (all: the newest 500, ended ones too)",
  status: 200,
  query: v.object({ all: flagParam, task: textParam }),
  reply: v.array(Agent),
});

export const captureAgent = defineRoute({
  method: "GET",
  path: "/v1/repos/:project/instances/:title/capture",
  summary: "The agent's screen as text (lines: how many from the bottom)",
  status: 200,
  query: v.object({ lines: v.optional(v.pipe(v.string(), v.regex(/^[1-9]\d*$/, "must be a positive integer"), v.transform(Number))) }),
  reply: "text",
});

export const sendToAgent = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/instances/:title/send",
  summary: "Type a prompt into a running agent",
  status: 204,
  body: v.object({ prompt: v.pipe(v.string("prompt must be a string"), v.minLength(1, "prompt is required"), v.maxLength(256 * 1024, "prompt must be at most 256 KiB")) }),
  reply: "empty",
});

export const killAgent = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/instances/:title/kill",
  summary: "Stop a running agent",
  status: 200,
  reply: v.strictObject({ status: v.literal("killing"), title: v.string() }),
});

export const restartAgent = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/instances/:title/restart",
  summary: "Restart an agent (its old session stopped, if any), continuing its CLI session where the CLI can (fresh: a new session)",
  status: 200,
  query: v.object({ fresh: flagParam }),
  reply: RestartReply,
});

export const retryTask = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/tasks/:task/retry",
  summary: "Start again the agents a task's state calls for",
  status: 200,
  reply: RestartReply,
});

export const agentEvent = defineRoute({
  method: "POST",
  path: "/v1/agent-events",
  summary: "A report from an agent's own CLI (hook, notify)",
  status: 200,
  body: AgentEventBody,
  reply: AgentEventReply,
});

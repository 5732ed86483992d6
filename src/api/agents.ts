// Request/response shapes of the agent routes, shared by the daemon's routes and the CLI client.
import * as v from "valibot";
import { harnessNames, harnessNamesInWords } from "../agents/harness/registry.ts";

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

export interface AgentEventReply {
  /** How kasmos read the event: the agent's activity now ("" = ignored). */
  activity: string;
}

/** `kas agent restart` / `kas task retry`. */
export interface RestartReply {
  task: string;
  /** Titles restarted (their old sessions stopped, if any). */
  restarted: string[];
  /** What the task's state allows, in words, when nothing could be restarted. */
  note: string;
}

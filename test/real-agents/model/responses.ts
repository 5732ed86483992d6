// Loopback OpenAI Responses API server (POST /v1/responses, streaming SSE) that plays the shared brain
// for the real codex CLI. Verified against codex-cli 0.169.0 with a custom provider:
//   model_provider = "<id>"; [model_providers.<id>] base_url = "<url>/v1", wire_api = "responses", env_key = "…"
// codex then POSTs <base_url>/responses with the whole conversation in `input` (developer/user messages,
// its own earlier `function_call` items and their `function_call_output`s) and the tools in `tools`
// (0.169: `exec_command` {cmd, workdir?, login?, yield_time_ms?, …}; no file-read tool, so reads are `cat`).
// Besides the agent turns codex sends one side request per thread to name it: no tools,
// `text.format` = json_schema "codex_output_schema" ({title}) and a user message quoting the first
// prompt. It is answered with schema-shaped JSON and zero usage (codex does not count it in the
// thread's token_count events), so `usage` × turn requests = the session's total token usage.
import { nextStep, type Scenario, type Step, type TurnEvent, readPromptFile } from "./brain.ts";
import { type FaultPlan, faultGate, faultResponse } from "./faults.ts";

export interface ResponsesUsage {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens?: number;
  reasoning_output_tokens?: number;
}

export type RequestKind = "turn" | "aux" | "other";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON body (null when there is none or it is not JSON). */
  body: unknown;
  kind: RequestKind;
  /** Turn requests: the conversation as decoded for the brain. */
  events?: TurnEvent[];
  /** Turn requests: what the model answered. */
  step?: Step;
  /** HTTP status sent back. */
  status: number;
  /** Arrival time (Date.now()). */
  at: number;
}

export interface ResponsesModelOptions {
  scenario: Scenario;
  /** Usage reported in response.completed of every turn request (default 100/10). */
  usage?: ResponsesUsage;
  /** Model name echoed in responses (default: the request's model). */
  model?: string;
  /** Reads the prompt file the first user message points at (default: from disk). */
  readPrompt?: (path: string) => string | null;
  /** Fail turn requests with this HTTP status (e.g. 401, 500) instead of answering. */
  failStatus?: number;
  /** The API's own error answer (openaiFault in faults.ts) to turn requests, for N requests or a time window. */
  fault?: FaultPlan;
}

export interface ResponsesModel {
  /** Base URL to use as the provider's base_url (ends in /v1). */
  url: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function sq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Text of a message's content parts (input_text / output_text / text). */
function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p) => (isObject(p) ? str(p.text) : ""))
    .filter((t) => t !== "")
    .join("\n");
}

/**
 * User-role messages codex injects itself (environment context, AGENTS.md, skills, turn-aborted
 * markers): whole-message XML-ish blocks or the AGENTS.md header. Not what a user typed.
 */
function isInjectedUserText(text: string): boolean {
  const t = text.trim();
  if (t.startsWith("# AGENTS.md instructions")) return true;
  return /^<([\w-]+)(?:\s[^>]*)?>[\s\S]*<\/\1>$/.test(t);
}

/** The request `input` as brain events. */
export function decodeInput(input: unknown): TurnEvent[] {
  const events: TurnEvent[] = [];
  if (typeof input === "string") return [{ kind: "user", text: input }];
  if (!Array.isArray(input)) return events;
  for (const item of input) {
    if (!isObject(item)) continue;
    const type = str(item.type) || (item.role !== undefined ? "message" : "");
    switch (type) {
      case "message": {
        const text = contentText(item.content);
        if (item.role === "user") {
          if (!isInjectedUserText(text)) events.push({ kind: "user", text });
        } else if (item.role === "assistant") events.push({ kind: "assistant", text });
        break; // developer / system: instructions, not conversation
      }
      case "function_call_output":
      case "custom_tool_call_output":
      case "local_shell_call_output": {
        const out = item.output;
        const text = typeof out === "string" ? out : isObject(out) ? str(out.content) || contentText(out.content) : contentText(out);
        events.push({ kind: "tool_result", text });
        break;
      }
      default:
        break; // function_call, reasoning, …: the model's own items
    }
  }
  return events;
}

interface ToolCall {
  name: string;
  arguments: string;
}

/** Names of the request's function tools (namespaces flattened). */
function toolNames(tools: unknown): Set<string> {
  const names = new Set<string>();
  if (!Array.isArray(tools)) return names;
  for (const t of tools) {
    if (!isObject(t)) continue;
    if (t.type === "function") names.add(str(t.name));
  }
  return names;
}

/** A shell command as a call of whichever shell tool the request offers. */
export function shellCall(command: string, tools: unknown): ToolCall {
  const names = toolNames(tools);
  if (!names.has("exec_command") && names.has("shell")) {
    return { name: "shell", arguments: JSON.stringify({ command: ["bash", "-lc", command], timeout_ms: 120_000 }) };
  }
  if (!names.has("exec_command") && names.has("shell_command")) {
    return { name: "shell_command", arguments: JSON.stringify({ command, timeout_ms: 120_000 }) };
  }
  // 0.169 unified exec: yield_time_ms max 30 s; a command still running after it would come back as a
  // session id, so keep it at the top of the range.
  return { name: "exec_command", arguments: JSON.stringify({ cmd: command, yield_time_ms: 30_000, max_output_tokens: 20_000 }) };
}

function stepCall(step: Step, tools: unknown): ToolCall | null {
  switch (step.kind) {
    case "read":
      return shellCall(`cat ${sq(step.path)}`, tools);
    case "shell":
      return shellCall(step.command, tools);
    case "text":
      return null;
    default: {
      const never: never = step;
      return never;
    }
  }
}

/** A value satisfying a (simple) JSON schema: for side requests with `text.format` json_schema. */
function sampleFor(schema: unknown): Json {
  if (!isObject(schema)) return "Kasmos task";
  switch (schema.type) {
    case "object": {
      const out: JsonObject = {};
      const props = isObject(schema.properties) ? schema.properties : {};
      for (const [k, v] of Object.entries(props)) out[k] = sampleFor(v);
      return out;
    }
    case "array":
      return [];
    case "number":
    case "integer":
      return 0;
    case "boolean":
      return false;
    default:
      return "Kasmos task";
  }
}

function usageJson(u: ResponsesUsage): JsonObject {
  const cached = u.cached_input_tokens ?? 0;
  const reasoning = u.reasoning_output_tokens ?? 0;
  return {
    input_tokens: u.input_tokens,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: u.output_tokens,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: u.input_tokens + u.output_tokens,
  };
}

function sse(events: JsonObject[]): string {
  return events.map((e) => `event: ${str(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join("");
}

/** The SSE stream of one response holding one output item (an assistant message or a function call). */
function responseStream(id: string, model: string, item: { text: string } | ToolCall, usage: JsonObject): string {
  const created = Math.floor(Date.now() / 1000);
  const base: JsonObject = { id, object: "response", created_at: created, model, status: "in_progress", output: [] };
  const events: JsonObject[] = [{ type: "response.created", response: base }, { type: "response.in_progress", response: base }];
  let done: JsonObject;
  if ("text" in item) {
    const msgId = `msg_${id}`;
    done = { type: "message", id: msgId, role: "assistant", status: "completed", content: [{ type: "output_text", text: item.text, annotations: [] }] };
    events.push(
      { type: "response.output_item.added", output_index: 0, item: { type: "message", id: msgId, role: "assistant", status: "in_progress", content: [] } },
      { type: "response.content_part.added", item_id: msgId, output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } },
      { type: "response.output_text.delta", item_id: msgId, output_index: 0, content_index: 0, delta: item.text },
      { type: "response.output_text.done", item_id: msgId, output_index: 0, content_index: 0, text: item.text },
      { type: "response.content_part.done", item_id: msgId, output_index: 0, content_index: 0, part: { type: "output_text", text: item.text, annotations: [] } },
    );
  } else {
    const fcId = `fc_${id}`;
    const callId = `call_${id}`;
    done = { type: "function_call", id: fcId, call_id: callId, name: item.name, arguments: item.arguments, status: "completed" };
    events.push(
      { type: "response.output_item.added", output_index: 0, item: { type: "function_call", id: fcId, call_id: callId, name: item.name, arguments: "", status: "in_progress" } },
      { type: "response.function_call_arguments.delta", item_id: fcId, output_index: 0, delta: item.arguments },
      { type: "response.function_call_arguments.done", item_id: fcId, output_index: 0, arguments: item.arguments },
    );
  }
  events.push(
    { type: "response.output_item.done", output_index: 0, item: done },
    { type: "response.completed", response: { ...base, status: "completed", output: [done], usage } },
  );
  return sse(events);
}


export async function startResponsesModel(opts: ResponsesModelOptions): Promise<ResponsesModel> {
  const requests: RecordedRequest[] = [];
  const usage = usageJson(opts.usage ?? { input_tokens: 100, output_tokens: 10 });
  const zero = usageJson({ input_tokens: 0, output_tokens: 0 });
  const readPrompt = opts.readPrompt ?? readPromptFile;
  let seq = 0;
  const faults = faultGate(opts.fault);

  const json = (status: number, body: Json): Response => Response.json(body, { status });

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 120,
    async fetch(req: Request): Promise<Response> {
      const url = new URL(req.url);
      const headers = Object.fromEntries(req.headers.entries());
      const raw = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
      let body: unknown = null;
      try {
        body = raw === "" ? null : (JSON.parse(raw) as unknown);
      } catch {
        body = null;
      }
      const record: RecordedRequest = { method: req.method, path: url.pathname + url.search, headers, body, kind: "other", status: 200, at: Date.now() };
      requests.push(record);

      if (req.method === "POST" && /\/responses\/?$/.test(url.pathname) && isObject(body)) {
        const model = opts.model ?? (str(body.model) || "loopback-model");
        const id = `resp_${++seq}`;
        const format = isObject(body.text) && isObject(body.text.format) ? body.text.format : null;
        const tools = body.tools;
        const hasTools = Array.isArray(tools) && tools.length > 0;
        if (format?.type === "json_schema" || !hasTools) {
          // Side request (thread title, …): not part of the agent's conversation.
          record.kind = "aux";
          const text = format?.type === "json_schema" ? JSON.stringify(sampleFor(format.schema)) : "Kasmos task";
          return new Response(responseStream(id, model, { text }, zero), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
        }
        record.kind = "turn";
        if (opts.failStatus !== undefined) {
          record.status = opts.failStatus;
          return json(opts.failStatus, { error: { message: `loopback model: forced HTTP ${opts.failStatus}`, type: "server_error", code: null, param: null } });
        }
        const events = decodeInput(body.input);
        record.events = events;
        const fault = faults.next();
        if (fault) {
          record.status = fault.status;
          return faultResponse(fault);
        }
        const step = nextStep(events, opts.scenario, readPrompt);
        record.step = step;
        const call = stepCall(step, tools);
        const item = call ?? { text: step.kind === "text" ? step.text : "" };
        return new Response(responseStream(id, model, item, usage), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
      }
      if (req.method === "GET" && /\/models\/?$/.test(url.pathname)) {
        // OpenAI list shape plus codex's own `models` field; both empty: the configured model is used.
        return json(200, { object: "list", data: [], models: [] });
      }
      record.status = 404;
      return json(404, { error: { message: `loopback model: no route ${req.method} ${url.pathname}`, type: "invalid_request_error" } });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    requests,
    async stop() {
      await server.stop(true);
    },
  };
}

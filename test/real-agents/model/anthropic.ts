// Loopback Anthropic Messages API for the real Claude Code CLI. It plays the shared brain (brain.ts):
// the conversation each request carries is decoded into TurnEvents, the brain's next step becomes a
// `Read` or `Bash` tool_use (names and input keys as Claude Code declares them in `tools`) or a final text.
// Requests that are not the agent's main loop (title generation, quota probes, requests without the
// kasmos prompt pointer or without the tools) get a harmless text answer.
// Every request is recorded (method, path, headers, JSON body, time) for the tests to inspect.
import { nextStep, type Scenario, type Step, type TurnEvent, readPromptFile } from "./brain.ts";
import { type FaultPlan, faultGate, faultResponse } from "./faults.ts";

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface RecordedRequest {
  /** ms since the server started. */
  at: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON body, or the raw text when it is not JSON, or null when empty. */
  body: unknown;
  /** What the server answered for a POST /v1/messages: the step it played, "side" for a side request, or the fault's status. */
  answered?: Step | "side" | number;
}

export interface AnthropicModelOptions {
  scenario: Scenario;
  /** Usage reported for every answered message (message_start and message_delta). */
  usage?: Usage;
  /** Model name reported in the responses (default: the requested model). */
  model?: string;
  /** Status + error answered to every POST /v1/messages instead of playing the brain (e.g. 401). */
  failWith?: { status: number; type: string; message: string };
  /** The API's own error answer (anthropicFault in faults.ts) to main-loop requests, for N requests or a time window. */
  fault?: FaultPlan;
  /** Delay before each streamed answer (ms). */
  latencyMs?: number;
}

export interface AnthropicModel {
  url: string;
  port: number;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

export const DEFAULT_USAGE: Usage = { input_tokens: 1000, output_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

// --- decoding ---------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: Json | undefined): string {
  return typeof v === "string" ? v : "";
}

/** Text of a tool_result content (a string or an array of blocks). */
function resultText(content: Json | undefined): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter(isObject)
    .map((b) => (b["type"] === "text" ? str(b["text"]) : ""))
    .join("\n");
}

const REMINDER = /<system-reminder>([\s\S]*?)<\/system-reminder>/g;

/**
 * The user's own words in a text block. Claude Code attaches `<system-reminder>` blocks (context,
 * CLAUDE.md, date, todo nudges) to user turns; those are not user messages, except the ones that carry
 * a message the user typed while the model was working ("The user sent the following message: …").
 */
function userWords(text: string): string {
  const kept: string[] = [];
  const bare = text.replace(REMINDER, (_m, inner: string) => {
    if (/user sent (?:the following|a new) message/i.test(inner)) kept.push(inner.trim());
    return "";
  });
  return [bare.trim(), ...kept].filter((t) => t !== "").join("\n");
}

export function decodeConversation(messages: readonly Json[]): TurnEvent[] {
  const events: TurnEvent[] = [];
  for (const m of messages) {
    if (!isObject(m)) continue;
    const role = m["role"];
    const content = m["content"];
    const blocks: Json[] = typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content : [];
    for (const b of blocks) {
      if (!isObject(b)) continue;
      const type = b["type"];
      if (role === "user") {
        if (type === "text") {
          const words = userWords(str(b["text"]));
          if (words !== "") events.push({ kind: "user", text: words });
        } else if (type === "tool_result") events.push({ kind: "tool_result", text: resultText(b["content"]) });
      } else if (role === "assistant") {
        if (type === "text") events.push({ kind: "assistant", text: str(b["text"]) });
        else if (type === "tool_use") events.push({ kind: "assistant", text: `[tool_use ${str(b["name"])}] ${JSON.stringify(b["input"] ?? null)}` });
      }
    }
  }
  return events;
}

// --- encoding ---------------------------------------------------------------------------------------

type Block = { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: JsonObject };

let counter = 0;
function id(prefix: string): string {
  counter += 1;
  return `${prefix}_loopback${Date.now().toString(36)}${counter.toString(36).padStart(4, "0")}`;
}

function toolNames(tools: Json | undefined): Set<string> {
  const names = new Set<string>();
  if (Array.isArray(tools)) for (const t of tools) if (isObject(t) && typeof t["name"] === "string") names.add(t["name"]);
  return names;
}

/** The content blocks of the answer for a brain step (a short preamble text, then the tool call). */
function blocksFor(step: Step, tools: Set<string>): Block[] {
  if (step.kind === "read" && tools.has("Read"))
    return [
      { type: "text", text: "I'll read the task prompt first." },
      { type: "tool_use", id: id("toolu"), name: "Read", input: { file_path: step.path } },
    ];
  if (step.kind === "shell" && tools.has("Bash"))
    return [
      { type: "text", text: "Running the next step." },
      { type: "tool_use", id: id("toolu"), name: "Bash", input: { command: step.command, description: "Run the next step of the task" } },
    ];
  if (step.kind === "text") return [{ type: "text", text: step.text }];
  return [{ type: "text", text: "OK." }];
}

function sse(event: string, data: JsonObject): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function usageJson(u: Usage): JsonObject {
  return { ...u };
}

function streamEvents(msgId: string, model: string, blocks: readonly Block[], usage: Usage): string[] {
  const stopReason = blocks.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn";
  const out: string[] = [
    sse("message_start", {
      type: "message_start",
      message: { id: msgId, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: usageJson(usage) },
    }),
  ];
  blocks.forEach((b, index) => {
    if (b.type === "text") {
      out.push(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }));
      // Two deltas, like a real stream.
      const half = Math.ceil(b.text.length / 2);
      for (const part of [b.text.slice(0, half), b.text.slice(half)])
        if (part !== "") out.push(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: part } }));
    } else {
      out.push(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: b.id, name: b.name, input: {} } }));
      const json = JSON.stringify(b.input);
      const cut = Math.ceil(json.length / 2);
      for (const part of [json.slice(0, cut), json.slice(cut)])
        out.push(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: part } }));
    }
    out.push(sse("content_block_stop", { type: "content_block_stop", index }));
  });
  out.push(sse("message_delta", { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: usageJson(usage) }));
  out.push(sse("message_stop", { type: "message_stop" }));
  return out;
}

function messageJson(msgId: string, model: string, blocks: readonly Block[], usage: Usage): JsonObject {
  const stopReason = blocks.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn";
  return { id: msgId, type: "message", role: "assistant", model, content: blocks.map((b) => ({ ...b })), stop_reason: stopReason, stop_sequence: null, usage: usageJson(usage) };
}

function errorResponse(status: number, type: string, message: string): Response {
  return Response.json({ type: "error", error: { type, message } }, { status, headers: { "request-id": id("req") } });
}


// --- server -----------------------------------------------------------------------------------------

export async function startAnthropicModel(opts: AnthropicModelOptions): Promise<AnthropicModel> {
  const started = Date.now();
  const requests: RecordedRequest[] = [];
  const usage = opts.usage ?? DEFAULT_USAGE;
  const faults = faultGate(opts.fault);

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 120,
    async fetch(req: Request): Promise<Response> {
      const url = new URL(req.url);
      const raw = await req.text();
      let body: unknown = null;
      if (raw !== "") {
        try {
          body = JSON.parse(raw) as unknown;
        } catch {
          body = raw;
        }
      }
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => {
        headers[k] = k === "x-api-key" || k === "authorization" ? `…${v.slice(-6)}` : v;
      });
      const rec: RecordedRequest = { at: Date.now() - started, method: req.method, path: url.pathname + url.search, headers, body };
      requests.push(rec);

      if (req.method === "HEAD" || (req.method === "GET" && (url.pathname === "/" || url.pathname === ""))) return new Response("ok");
      if (req.method === "POST" && url.pathname === "/v1/messages/count_tokens") {
        const n = raw.length > 0 ? Math.ceil(raw.length / 4) : 1;
        return Response.json({ input_tokens: n });
      }
      if (req.method === "POST" && url.pathname === "/v1/messages") {
        if (opts.failWith) return errorResponse(opts.failWith.status, opts.failWith.type, opts.failWith.message);
        if (!isObject(body)) return errorResponse(400, "invalid_request_error", "body must be a JSON object");
        const messages = Array.isArray(body["messages"]) ? body["messages"] : [];
        const tools = toolNames(body["tools"]);
        const model = opts.model ?? (str(body["model"]) || "claude-loopback");
        const events = decodeConversation(messages);
        // The main loop carries the Read and Bash tools; anything else is a side request.
        const main = tools.has("Read") && tools.has("Bash");
        const fault = main ? faults.next() : null;
        if (fault) {
          rec.answered = fault.status;
          return faultResponse(fault);
        }
        const step: Step = main ? nextStep(events, opts.scenario, readPromptFile) : { kind: "text", text: "OK." };
        rec.answered = main ? step : "side";
        const blocks = blocksFor(step, tools);
        const msgId = id("msg");
        if (opts.latencyMs) await Bun.sleep(opts.latencyMs);
        if (body["stream"] !== true) return Response.json(messageJson(msgId, model, blocks, usage), { headers: { "request-id": id("req") } });
        const chunks = streamEvents(msgId, model, blocks, usage);
        const enc = new TextEncoder();
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            for (const c of chunks) controller.enqueue(enc.encode(c));
            controller.close();
          },
        });
        return new Response(stream, {
          headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": id("req") },
        });
      }
      if (req.method === "GET") return Response.json({ data: [], has_more: false, first_id: null, last_id: null });
      return errorResponse(404, "not_found_error", `loopback model: no route for ${req.method} ${url.pathname}`);
    },
  });

  const port = server.port ?? 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    async stop(): Promise<void> {
      await server.stop(true);
    },
  };
}

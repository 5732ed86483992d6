// Loopback model server speaking the OpenAI Chat Completions wire API (POST /v1/chat/completions,
// streaming SSE with tool_calls deltas and a final usage chunk), playing the shared brain (brain.ts).
// opencode reaches it through its bundled `@ai-sdk/openai-compatible` provider (no run-time download).
//
// Tool mapping: the brain's "read" step → the request's read tool (opencode: `read` {filePath}),
// "shell" → its shell tool (opencode: `bash` {command, description}). Argument names are taken from the
// tool's JSON schema in the request, so the same server works for other Chat Completions clients.
// A request without tools (title generation, summaries) is a side request: it gets a short text.
import { nextStep, type Scenario, type Step, type TurnEvent, readPromptFile } from "./brain.ts";
import { type FaultPlan, faultGate, faultResponse } from "./faults.ts";

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
}

export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  /** Parsed JSON body (null when the body was not JSON). */
  body: unknown;
  /** What the server answered: "tool:<name>", "text", "side", "error:<status>". */
  answer: string;
}

export interface ChatModelOptions {
  scenario: Scenario;
  usage?: ChatUsage;
  /** Model id reported in responses and by GET /v1/models (default "brain"). */
  model?: string;
  /** Answer every completion request with this HTTP status (401, 500, …) instead of playing the brain. */
  failWith?: number;
  /** Wait this long before answering each completion request (ms). */
  delayMs?: number;
  /** The API's own error answer (openaiFault in faults.ts) to requests with tools, for N requests or a time window. */
  fault?: FaultPlan;
}

export interface ChatModel {
  /** Base URL for the provider (ends in /v1). */
  url: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** Text of a message's content: a string or an array of parts ({type:"text", text}). */
function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const parts: string[] = [];
  for (const p of content) {
    if (typeof p === "string") parts.push(p);
    else if (isObject(p) && typeof p.text === "string") parts.push(p.text);
  }
  return parts.join("\n");
}

/** The conversation as brain TurnEvents (system messages are not part of it). */
export function decodeMessages(messages: unknown): TurnEvent[] {
  if (!Array.isArray(messages)) return [];
  const events: TurnEvent[] = [];
  for (const m of messages) {
    if (!isObject(m)) continue;
    const role = str(m.role);
    const text = contentText(m.content);
    if (role === "user") events.push({ kind: "user", text });
    else if (role === "tool") events.push({ kind: "tool_result", text });
    else if (role === "assistant" && text.trim() !== "") events.push({ kind: "assistant", text });
  }
  return events;
}

interface ToolSpec {
  name: string;
  properties: string[];
}

function toolSpecs(tools: unknown): ToolSpec[] {
  if (!Array.isArray(tools)) return [];
  const out: ToolSpec[] = [];
  for (const t of tools) {
    if (!isObject(t)) continue;
    const fn = t.function;
    if (!isObject(fn)) continue;
    const params = fn.parameters;
    const props = isObject(params) && isObject(params.properties) ? Object.keys(params.properties) : [];
    out.push({ name: str(fn.name), properties: props });
  }
  return out;
}

function pick(specs: ToolSpec[], names: string[]): ToolSpec | undefined {
  for (const n of names) {
    const t = specs.find((s) => s.name.toLowerCase() === n);
    if (t) return t;
  }
  return undefined;
}

/** A step as a tool call for the tools this request offers (null: no fitting tool). */
export function toolCallFor(step: Step, specs: ToolSpec[]): { name: string; args: Record<string, string> } | null {
  if (step.kind === "read") {
    const t = pick(specs, ["read", "read_file", "view"]);
    if (!t) return null;
    const key = t.properties.find((p) => ["filePath", "file_path", "path"].includes(p)) ?? "filePath";
    return { name: t.name, args: { [key]: step.path } };
  }
  if (step.kind === "shell") {
    const t = pick(specs, ["bash", "shell", "exec_command", "run_shell_command"]);
    if (!t) return null;
    const key = t.properties.find((p) => ["command", "cmd"].includes(p)) ?? "command";
    const args: Record<string, string> = { [key]: step.command };
    if (t.properties.includes("description")) args.description = "Run a step of the task";
    return { name: t.name, args };
  }
  return null;
}


const enc = new TextEncoder();

function sse(chunks: readonly object[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(`data: ${JSON.stringify(ch)}\n\n`));
      c.enqueue(enc.encode("data: [DONE]\n\n"));
      c.close();
    },
  });
}

function usageBlock(u: ChatUsage): object {
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.prompt_tokens + u.completion_tokens,
    ...(u.cached_tokens !== undefined ? { prompt_tokens_details: { cached_tokens: u.cached_tokens } } : {}),
  };
}

export async function startChatModel(opts: ChatModelOptions): Promise<ChatModel> {
  const model = opts.model ?? "brain";
  const usage: ChatUsage = opts.usage ?? { prompt_tokens: 100, completion_tokens: 20 };
  const requests: RecordedRequest[] = [];
  let seq = 0;
  const faults = faultGate(opts.fault);

  function reply(body: JsonObject, text: string | null, call: { name: string; args: Record<string, string> } | null): Response {
    const id = `chatcmpl-${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, object: "chat.completion.chunk", created, model };
    const finish = call ? "tool_calls" : "stop";
    if (body.stream !== true) {
      const message = call
        ? { role: "assistant", content: null, tool_calls: [{ id: `call_${seq}`, type: "function", function: { name: call.name, arguments: JSON.stringify(call.args) } }] }
        : { role: "assistant", content: text ?? "" };
      return Response.json({ id, object: "chat.completion", created, model, choices: [{ index: 0, message, finish_reason: finish }], usage: usageBlock(usage) });
    }
    const chunks: object[] = [{ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }];
    if (call) {
      const args = JSON.stringify(call.args);
      const cut = Math.floor(args.length / 2);
      chunks.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: `call_${seq}`, type: "function", function: { name: call.name, arguments: args.slice(0, cut) } }] }, finish_reason: null }] });
      chunks.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: args.slice(cut) } }] }, finish_reason: null }] });
    } else {
      chunks.push({ ...base, choices: [{ index: 0, delta: { content: text ?? "" }, finish_reason: null }] });
    }
    chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
    chunks.push({ ...base, choices: [], usage: usageBlock(usage) });
    return new Response(sse(chunks), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 120,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const raw = req.method === "POST" ? await req.text() : "";
      let body: unknown = null;
      try {
        body = raw === "" ? null : JSON.parse(raw);
      } catch {
        body = null;
      }
      const rec: RecordedRequest = { at: Date.now(), method: req.method, path, body, answer: "" };
      requests.push(rec);
      if (req.method === "GET" && path.endsWith("/models")) {
        rec.answer = "models";
        return Response.json({ object: "list", data: [{ id: model, object: "model", created: 0, owned_by: "loopback" }] });
      }
      if (!path.endsWith("/chat/completions") || !isObject(body)) {
        rec.answer = "error:404";
        return Response.json({ error: { message: `no route ${req.method} ${path}` } }, { status: 404 });
      }
      if (opts.delayMs) await Bun.sleep(opts.delayMs);
      if (opts.failWith) {
        rec.answer = `error:${opts.failWith}`;
        return Response.json({ error: { message: `loopback model fails with ${opts.failWith}`, type: "server_error" } }, { status: opts.failWith });
      }
      const specs = toolSpecs(body.tools);
      if (specs.length === 0) {
        // Side request (title generation, summary): a harmless short text.
        rec.answer = "side";
        return reply(body, "Kasmos task", null);
      }
      const fault = faults.next();
      if (fault) {
        rec.answer = `error:${fault.status}`;
        return faultResponse(fault);
      }
      const step = nextStep(decodeMessages(body.messages), opts.scenario, readPromptFile);
      const call = toolCallFor(step, specs);
      if (call) {
        rec.answer = `tool:${call.name}`;
        return reply(body, null, call);
      }
      rec.answer = "text";
      const text = step.kind === "text" ? step.text : `No tool for ${step.kind} among: ${specs.map((s) => s.name).join(", ")}`;
      return reply(body, text, null);
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

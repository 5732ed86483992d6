// The control API's contract: the compiled daemon serves GET /v1/openapi.json, every route of the
// contract is called for real over the socket, and each real reply (success and refusal) must fit the
// schema the document gives for that route and status. A route served outside the contract fails too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openApiPath } from "../../src/api/openapi.ts";
import { ROUTES } from "../../src/api/routes.ts";
import { fakeAgentConfig, WAVES_PLAN } from "../helpers/agents.ts";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";
import { schemaProblem } from "../helpers/json-schema.ts";

type Json = Record<string, unknown>;

let sb: Sandbox;
let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
let doc: Json;
/** "GET /v1/repos/{project}" → statuses seen. */
const called = new Map<string, Set<number>>();

beforeAll(async () => {
  sb = new Sandbox();
  makeGitRepo(sb.dir, "shop");
  makeGitRepo(sb.dir, "spare");
  // Wave coders sleep: live agents to list, capture, type into, restart and kill.
  sb.writeConfig(fakeAgentConfig("FAKE_SLOW_WAVE=120"));
  proc = await sb.foreground();
  const r = await fetch("http://kasmos/v1/openapi.json", { unix: sb.socket });
  expect(r.status).toBe(200);
  doc = (await r.json()) as Json;
});
afterAll(async () => {
  proc.kill("SIGTERM");
  await proc.exited;
  await sb.cleanup();
});

/** The document's operation for a path as the daemon routes it (the route's template is found by matching). */
function operationFor(method: string, path: string): { template: string; op: Json } {
  const bare = path.split("?")[0]!;
  for (const [template, item] of Object.entries(doc.paths as Record<string, Json>)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    const op = item[method.toLowerCase()] as Json | undefined;
    if (re.test(bare) && op) return { template, op };
  }
  throw new Error(`${method} ${bare} is not in /v1/openapi.json`);
}

/** Call a route for real; its reply must have `status` and fit the document's schema for it. */
async function call(method: string, path: string, status: number, body?: unknown, headers: Record<string, string> = {}): Promise<{ json: unknown; text: string }> {
  const { template, op } = operationFor(method, path);
  const res = await fetch(`http://kasmos${path}`, {
    method,
    unix: sb.socket,
    headers: { "content-type": "application/json", ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  } as RequestInit & { unix: string });
  const text = await res.text();
  expect(res.status, `${method} ${path}: ${text.slice(0, 300)}`).toBe(status);
  const key = `${method} ${template}`;
  called.set(key, (called.get(key) ?? new Set()).add(status));
  const responses = op.responses as Record<string, Json>;
  const answer = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
  expect(answer, `${key} documents no ${status} reply`).toBeDefined();
  const content = answer!.content as Record<string, Json> | undefined;
  if (!content) {
    expect(text, `${key} answers ${status} with a body the document does not have`).toBe("");
    return { json: null, text };
  }
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!;
  const media = content[type];
  expect(media, `${key}: content-type ${type} is not documented (${Object.keys(content).join(", ")})`).toBeDefined();
  const json = type === "application/json" ? (JSON.parse(text) as unknown) : text;
  expect(schemaProblem(media!.schema as Json, json), `${key} ${status} reply does not fit its schema`).toBe("");
  return { json, text };
}

describe("GET /v1/openapi.json", () => {
  test("documents every route of the contract, and nothing else", () => {
    const documented = Object.entries(doc.paths as Record<string, Json>).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    const contract = ROUTES.map((r) => `${r.method} ${openApiPath(r.path).path}`);
    expect(documented.sort()).toEqual([...contract].sort());
    expect(new Set(contract).size).toBe(contract.length);
  });

  test("the schema checker catches a reply that does not fit", () => {
    const { op } = operationFor("GET", "/v1/ping");
    const schema = ((op.responses as Record<string, Json>)["200"]!.content as Record<string, Json>)["application/json"]!.schema as Json;
    expect(schemaProblem(schema, { ok: true, pid: 1 })).toBe("");
    expect(schemaProblem(schema, { ok: true, pid: 1, extra: 1 })).toContain("unexpected field extra");
    expect(schemaProblem(schema, { ok: "yes", pid: 1 })).toContain("$.ok");
    expect(schemaProblem(schema, { ok: true })).toContain("missing pid");
  });
});

describe("every route, called for real, answers what the document says", () => {
  test("daemon, repos, tasks, signals, agents, usage, upkeep", async () => {
    const shop = join(sb.dir, "shop");
    await call("GET", "/v1/ping", 200);
    await call("GET", "/v1/openapi.json", 200);
    await call("GET", "/v1/doctor", 200);
    await call("POST", "/v1/reload", 200);
    await call("GET", "/v1/web", 200);
    await call("POST", "/v1/web/start", 400, { listen: "not an address" });
    await call("POST", "/v1/web/start", 200, { listen: "127.0.0.1:0" });
    await call("POST", "/v1/web/start", 409, { listen: "127.0.0.1:1" });
    await call("POST", "/v1/repos", 201, { path: shop });
    await call("POST", "/v1/repos", 201, { path: join(sb.dir, "spare") });
    await call("POST", "/v1/repos", 409, { path: shop });
    await call("GET", "/v1/repos", 200);
    await call("POST", "/v1/repos/shop/trust", 200);
    await call("POST", "/v1/repos/nope/trust", 404);

    await call("POST", "/v1/repos/shop/tasks", 201, { name: "feat", description: "two waves", plan: WAVES_PLAN });
    await call("POST", "/v1/repos/shop/tasks", 201, { name: "idle" });
    await call("POST", "/v1/repos/shop/tasks", 400, { name: "../evil" });
    await call("GET", "/v1/repos/shop/tasks", 200);
    await call("GET", "/v1/repos/shop/tasks?status=ready&limit=5", 200);
    await call("GET", "/v1/repos/shop/tasks?limit=0", 400);
    await call("GET", "/v1/repos/nope/tasks", 404);
    await call("GET", "/v1/repos/shop/tasks/feat", 200);
    await call("POST", "/v1/repos/shop/tasks/idle/plan", 400, { markdown: "no waves here" });
    await call("POST", "/v1/repos/shop/tasks/idle/plan", 200, { markdown: "no waves here", draft: true });
    await call("POST", "/v1/repos/shop/tasks/nope/plan", 404, { markdown: WAVES_PLAN });
    await call("POST", "/v1/repos/shop/tasks/idle/transition", 409, { event: "implement_finished" });
    await call("POST", "/v1/repos/shop/tasks/feat/transition", 200, { event: "implement_start" });

    // The architect passes, then wave 1's two coders start and sleep: live agents.
    let coders: { title: string; role: string; wave: number }[] = [];
    await waitFor(async () => {
      const r = await call("GET", "/v1/repos/shop/instances", 200);
      coders = (r.json as { title: string; role: string; wave: number }[]).filter((a) => a.role === "coder" && a.wave === 1);
      return coders.length === 2;
    }, 60_000, "wave 1's two coders to run");
    const [first, second] = coders.map((c) => encodeURIComponent(c.title));
    await call("GET", "/v1/repos/shop/instances?all=1&task=feat", 200);
    await call("GET", "/v1/repos/shop/instances?all=maybe", 400);
    await call("GET", `/v1/repos/shop/instances/${first}/capture?lines=5`, 200);
    await call("GET", `/v1/repos/shop/instances/${first}/capture?lines=-1`, 400);
    await call("POST", `/v1/repos/shop/instances/${first}/send`, 204, { prompt: "keep going" });
    await call("POST", `/v1/repos/shop/instances/${first}/keys`, 409, { text: "x" });
    await call("POST", `/v1/repos/shop/instances/${first}/takeover`, 200, {});
    await call("POST", `/v1/repos/shop/instances/${first}/keys`, 204, { text: "typed" });
    await call("POST", `/v1/repos/shop/instances/${first}/takeover`, 200, { release: true });
    await call("GET", "/v1/repos/shop/instances/nobody/terminal", 404);
    await call("GET", "/v1/repos/shop/tasks/feat/diff", 200);
    await call("GET", "/v1/repos/shop/tasks/idle/diff", 404);
    await call("GET", "/v1/budget", 200);
    {
      // The terminal stream: its first event (the screen) fits the documented event schema.
      const { op } = operationFor("GET", `/v1/repos/shop/instances/${first}/terminal`);
      const eventSchema = (((op.responses as Record<string, Json>)["200"]!.content as Record<string, Json>)["text/event-stream"]! as Json)["x-event-data"] as Json;
      const res = await fetch(`http://kasmos/v1/repos/shop/instances/${first}/terminal`, { unix: sb.socket } as RequestInit & { unix: string });
      expect(res.status).toBe(200);
      called.set("GET /v1/repos/{project}/instances/{title}/terminal", new Set([200, 404]));
      const reader = res.body!.getReader();
      let buf = "";
      const deadline = Date.now() + 20_000;
      while (!buf.includes("event: screen") || !buf.slice(buf.indexOf("event: screen")).includes("\n\n")) {
        if (Date.now() > deadline) throw new Error(`no screen event: ${buf.slice(0, 300)}`);
        const { value, done } = await reader.read();
        if (done) break;
        buf += new TextDecoder().decode(value);
      }
      await reader.cancel();
      const data = buf.slice(buf.indexOf("event: screen")).split("\n").find((l) => l.startsWith("data: "))!;
      expect(schemaProblem(eventSchema, JSON.parse(data.slice(6)))).toBe("");
    }
    await call("POST", "/v1/agent-events", 200, { project: "shop", title: coders[0]!.title, cli: "generic", event: "working", payload: {} });
    await call("POST", "/v1/agent-events", 404, { project: "shop", title: "nobody", cli: "generic", event: "working" });
    await call("GET", "/v1/status", 200);
    await call("POST", `/v1/repos/shop/instances/${first}/restart`, 200);
    await call("POST", `/v1/repos/shop/instances/${second}/kill`, 200);
    await call("POST", "/v1/repos/shop/tasks/feat/retry", 200);
    await call("POST", "/v1/repos/shop/tasks/idle/transition", 200, { event: "cancel" });
    await call("POST", "/v1/repos/shop/tasks/idle/retry", 409);

    await call("POST", "/v1/repos/shop/signals", 201, { type: "implement_finished", task: "idle" });
    await call("POST", "/v1/repos/shop/signals", 400, { type: "nope", task: "idle" });
    await call("GET", "/v1/repos/shop/signals", 200);
    await call("GET", "/v1/repos/shop/signals?status=pending,done,failed&limit=10", 200);
    await call("GET", "/v1/repos/shop/signals?limit=abc", 400);
    await call("POST", "/v1/scan", 202, { project: "shop" });
    await call("GET", "/v1/usage?by=model&since=7d", 200);
    await call("GET", "/v1/usage?by=colour", 400);
    await call("GET", "/v1/metrics", 200);
    await call("POST", "/v1/notify/test", 200);
    await call("POST", "/v1/gc", 200, { dry_run: true });
    await call("DELETE", "/v1/repos/spare?force=1", 200);
    await call("DELETE", "/v1/repos/spare", 404);
    await call("GET", "/v1/events?after=x", 400);
  }, 180_000);

  test("the event stream's data fits the documented event schema", async () => {
    const { op } = operationFor("GET", "/v1/events");
    const media = ((op.responses as Record<string, Json>)["200"]!.content as Record<string, Json>)["text/event-stream"]!;
    const eventSchema = media["x-event-data"] as Json;
    expect(eventSchema).toBeDefined();
    const res = await fetch("http://kasmos/v1/events?project=shop", { unix: sb.socket, headers: { "last-event-id": "0" } });
    expect(res.status).toBe(200);
    called.set("GET /v1/events", (called.get("GET /v1/events") ?? new Set()).add(200));
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = "";
    const rows: unknown[] = [];
    const deadline = Date.now() + 20_000;
    while (rows.length < 10 && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const data = buf.slice(0, cut).split("\n").find((l) => l.startsWith("data: "));
        buf = buf.slice(cut + 2);
        if (data) rows.push(JSON.parse(data.slice(6)));
      }
    }
    await reader.cancel();
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const row of rows) expect(schemaProblem(eventSchema, row)).toBe("");
  });

  test("the CLI's --json output of the same things has the same shapes (read from the store, no daemon asked)", async () => {
    const cwd = join(sb.dir, "shop");
    const replySchema = (method: string, path: string): Json => {
      const { op } = operationFor(method, path);
      return ((op.responses as Record<string, Json>)["200"]!.content as Record<string, Json>)["application/json"]!.schema as Json;
    };
    const json = async (...args: string[]): Promise<unknown> => {
      const r = await sb.run([...args, "--json"], { cwd });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout);
    };
    const show = (await json("task", "show", "feat")) as Json;
    const showSchema = replySchema("GET", "/v1/repos/shop/tasks/feat").properties as Record<string, Json>;
    expect(schemaProblem(showSchema.task!, show.task)).toBe("");
    expect(schemaProblem(showSchema.subtasks!, show.subtasks)).toBe("");
    expect(schemaProblem(showSchema.history!, show.history)).toBe("");
    expect(schemaProblem(replySchema("GET", "/v1/repos/shop/instances"), show.agents)).toBe("");
    expect(schemaProblem(replySchema("GET", "/v1/repos/shop/tasks"), await json("task", "list"))).toBe("");
    expect(schemaProblem(replySchema("GET", "/v1/repos/shop/signals"), await json("signal", "list"))).toBe("");
    expect(schemaProblem(showSchema.history!, await json("task", "history", "feat"))).toBe("");
    expect(schemaProblem(replySchema("GET", "/v1/repos/shop/instances"), await json("agent", "list", "--all"))).toBe("");
    const planFile = join(sb.dir, "draft.md");
    await Bun.write(planFile, "# not a plan yet\n");
    expect((await sb.run(["task", "create", "sketch"], { cwd })).code).toBe(0);
    expect(await json("task", "plan", "sketch", "--file", planFile, "--draft")).toMatchObject({ waves: 0, tasks: 0, draft_reason: expect.any(String), warnings: [] });
  });

  test("every route of the contract was called, each with its success status", () => {
    const missing = ROUTES.filter((r) => !called.get(`${r.method} ${openApiPath(r.path).path}`)?.has(r.status)).map((r) => `${r.method} ${r.path} ${r.status}`);
    expect(missing).toEqual([]);
  });
});

describe("the daemon's app", () => {
  test("serves no route outside the contract", async () => {
    // Built in this process over a store of its own (nothing started: no scan, no agents, no socket).
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "kas-routes-"));
    const saved = { HOME: process.env.HOME, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
    process.env.HOME = dir;
    process.env.XDG_RUNTIME_DIR = dir;
    delete process.env.XDG_CONFIG_HOME;
    try {
      const { loadConfig } = await import("../../src/config/load.ts");
      const { composeDaemon } = await import("../../src/daemon/compose.ts");
      const { createDaemonLogger } = await import("../../src/runtime/log.ts");
      const { openStore } = await import("../../src/store/db.ts");
      const db = openStore(join(dir, "store.db"));
      const { app } = composeDaemon(loadConfig(join(dir, "none.toml")), join(dir, "kas.sock"), db, createDaemonLogger({ level: 0 }));
      // Middleware (methodNotAllowed) registers as ALL /*; each route is its method and path.
      const served = app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`);
      const contract = ROUTES.map((r) => `${r.method} ${r.path}`);
      expect([...new Set(served)].sort()).toEqual([...contract].sort());
      db.close();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Control API and repo registration over the real unix socket of the compiled daemon.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox } from "../helpers/env.ts";

let sb: Sandbox;
let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
let repoA: string;
let repoB: string;

beforeAll(async () => {
  sb = new Sandbox();
  repoA = makeGitRepo(sb.dir, "alpha");
  repoB = makeGitRepo(sb.dir, "beta");
  proc = await sb.foreground();
});
afterAll(async () => {
  proc.kill("SIGTERM");
  await proc.exited;
  await sb.cleanup();
});

describe("routes", () => {
  test("GET /v1/ping and /v1/status", async () => {
    expect((await api(sb.socket, "GET", "/v1/ping")).status).toBe(200);
    const s = await api(sb.socket, "GET", "/v1/status");
    expect(s.status).toBe(200);
    for (const k of ["running", "pid", "version", "uptime_sec", "repo_count", "repos"]) expect(s.json).toHaveProperty(k);
  });

  test("unknown route → 404 JSON, wrong method → 405 JSON with Allow", async () => {
    const nf = await api(sb.socket, "GET", "/v1/nope");
    expect(nf.status).toBe(404);
    expect(typeof nf.json.error).toBe("string");
    const r = await fetch("http://kasmos/v1/status", { method: "PUT", unix: sb.socket });
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toContain("GET");
    expect(((await r.json()) as { error: string }).error).toContain("not allowed");
  });

  test("bad bodies → 400 with a reason; > 1 MiB → 413; never 500", async () => {
    const cases: [string, number, string][] = [
      ["{not json", 400, "invalid request body"],
      ["", 400, "empty body"],
      ["[]", 400, "invalid request body"],
      ['{"path": 5}', 400, "path"],
      ['{"path": ""}', 400, "path is required"],
      ['{"path": "relative/dir"}', 400, "must be absolute"],
      [JSON.stringify({ path: join(sb.dir, "missing") }), 400, "does not exist"],
      [JSON.stringify({ path: "/tmp/a\u0000b" }), 400, "NUL"],
      ['"just a string"', 400, "invalid request body"],
    ];
    for (const [body, status, msg] of cases) {
      const r = await api(sb.socket, "POST", "/v1/repos", body);
      expect(r.status).toBe(status);
      expect(String(r.json.error)).toContain(msg);
    }
    const huge = JSON.stringify({ path: "/x", pad: "a".repeat(1024 * 1024 + 10) });
    const big = await api(sb.socket, "POST", "/v1/repos", huge);
    expect(big.status).toBe(413);
    expect(String(big.json.error)).toContain("too large");
    // still serving
    expect((await api(sb.socket, "GET", "/v1/ping")).status).toBe(200);
  });

  test("a directory outside any git work tree → 400", async () => {
    const plain = join(sb.dir, "plain");
    mkdirSync(plain);
    const r = await api(sb.socket, "POST", "/v1/repos", { path: plain });
    expect(r.status).toBe(400);
    expect(String(r.json.error)).toContain("not inside a git work tree");
  });
});

describe("add / remove", () => {
  test("CLI add, duplicate path → 409, same basename → its own project, remove, unknown → 404", async () => {
    const add = await sb.run(["daemon", "add", repoA]);
    expect(add.code).toBe(0);
    expect(add.stdout).toContain(`registered repo: ${repoA}`);

    const again = await sb.run(["daemon", "add", repoA]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`repo already registered: ${repoA}`);

    // Another repository of the same basename is another project, with a key of its own.
    const clone = makeGitRepo(join(sb.dir, "other"), "alpha");
    const second = await api(sb.socket, "POST", "/v1/repos", { path: clone });
    expect(second.status).toBe(201);
    expect(String(second.json.project)).toMatch(/^alpha~[0-9a-f]{8}$/);
    expect((await api(sb.socket, "DELETE", `/v1/repos/${encodeURIComponent(String(second.json.project))}`)).status).toBe(200);

    // relative path resolved by the CLI against its cwd
    const rel = await sb.run(["daemon", "add", "beta"], { cwd: sb.dir });
    expect(rel.code).toBe(0);
    expect(rel.stdout).toContain(repoB);

    const st = JSON.parse((await sb.run(["daemon", "status", "--json"])).stdout) as { repos: { project: string; path: string }[]; repo_count: number };
    expect(st.repo_count).toBe(2);
    expect(st.repos.map((r) => r.project).sort()).toEqual(["alpha", "beta"]);
    const text = (await sb.run(["daemon", "status"])).stdout;
    expect(text).toContain(`- alpha (${repoA}) [0 active plans]`);

    const rm = await sb.run(["daemon", "remove", repoB]);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain(`unregistered repo: ${repoB}`);
    const rm2 = await sb.run(["daemon", "remove", repoB]);
    expect(rm2.code).toBe(1);
    expect(rm2.stderr.trim()).toStartWith(`not registered: ${repoB}`);
    const del = await api(sb.socket, "DELETE", "/v1/repos/nope");
    expect(del.status).toBe(404);

    const list = await api(sb.socket, "GET", "/v1/repos");
    expect(Array.isArray(list.json)).toBe(true);
  });
});

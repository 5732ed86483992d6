// A loopback fake of the few GitHub REST endpoints kasmos uses, recording every call.
import { Hono } from "hono";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TOKEN = "test-token";

export interface FakePr {
  number: number;
  title: string;
  body: string;
  head: { ref: string; sha: string };
  base: { ref: string };
  state: "open" | "closed";
  merged_at: string | null;
  html_url: string;
}

export interface FakeReview {
  id: number;
  user: { login: string; type: string } | null;
  state: string;
  body: string | null;
}

export interface FakeComment {
  id: number;
  pull_request_review_id: number | null;
  user: { login: string; type: string };
  body: string;
  path: string;
  line: number | null;
}

export interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface Injected {
  method?: string;
  /** Substring of the path. */
  path?: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** How many times (default 1). */
  times?: number;
}

export class FakeGitHub {
  readonly calls: Call[] = [];
  readonly pulls: FakePr[] = [];
  readonly reviews = new Map<number, FakeReview[]>();
  readonly comments = new Map<number, FakeComment[]>();
  readonly reactions: { commentId: number; content: string }[] = [];
  readonly inject: Injected[] = [];
  defaultBranch = "main";
  /** Answer every request this much later (ms), and count how many are answered at once. */
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Head SHA of a pushed branch (reads the bare origin). */
  branchSha: (branch: string) => string = () => "0".repeat(40);
  private server: ReturnType<typeof Bun.serve>;

  constructor() {
    const app = new Hono();
    app.use("*", async (_c, next) => {
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      try {
        if (this.delayMs > 0) await Bun.sleep(this.delayMs);
        await next();
      } finally {
        this.inFlight--;
      }
    });
    app.use("*", async (c, next) => {
      const url = new URL(c.req.url);
      let body: unknown = null;
      if (c.req.method !== "GET") body = await c.req.json().catch(() => null);
      this.calls.push({ method: c.req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body });
      if (c.req.header("authorization") !== `Bearer ${TOKEN}`) return c.json({ message: "Bad credentials" }, 401);
      const i = this.inject.findIndex((x) => (!x.method || x.method === c.req.method) && (!x.path || url.pathname.includes(x.path)));
      if (i >= 0) {
        const x = this.inject[i]!;
        x.times = (x.times ?? 1) - 1;
        if (x.times <= 0) this.inject.splice(i, 1);
        return new Response(JSON.stringify(x.body ?? { message: `injected ${x.status}` }), {
          status: x.status,
          headers: { "content-type": "application/json", ...(x.headers ?? {}) },
        });
      }
      await next();
      return undefined;
    });
    app.get("/repos/:o/:r", (c) => c.json({ id: 1, full_name: `${c.req.param("o")}/${c.req.param("r")}`, default_branch: this.defaultBranch }));
    app.get("/repos/:o/:r/pulls", (c) => {
      const head = c.req.query("head") ?? "";
      const state = c.req.query("state") ?? "open";
      const branch = head.includes(":") ? head.split(":")[1] : head;
      return c.json(this.pulls.filter((p) => (!head || p.head.ref === branch) && (state === "all" || p.state === state)));
    });
    app.post("/repos/:o/:r/pulls", async (c) => {
      const b = ((await c.req.json().catch(() => ({}))) ?? {}) as { title?: string; head?: string; base?: string; body?: string };
      if (!b.title || !b.head || !b.base) return c.json({ message: "Validation Failed", errors: [{ field: "title", code: "missing_field" }] }, 422);
      if (this.pulls.some((p) => p.head.ref === b.head && p.state === "open")) {
        return c.json({ message: "Validation Failed", errors: [{ message: `A pull request already exists for o:${b.head}.` }] }, 422);
      }
      const pr = this.addPr(b.head, { title: b.title, body: b.body ?? "", base: b.base });
      return c.json(pr, 201);
    });
    app.get("/repos/:o/:r/pulls/:n", (c) => {
      const pr = this.pulls.find((p) => p.number === Number(c.req.param("n")));
      return pr ? c.json(pr) : c.json({ message: "Not Found" }, 404);
    });
    app.get("/repos/:o/:r/pulls/:n/reviews", (c) => c.json(this.page(this.reviews.get(Number(c.req.param("n"))) ?? [], c.req.query("page"))));
    app.get("/repos/:o/:r/pulls/:n/comments", (c) => c.json(this.page(this.comments.get(Number(c.req.param("n"))) ?? [], c.req.query("page"))));
    app.post("/repos/:o/:r/pulls/comments/:id/reactions", async (c) => {
      const content = (((await c.req.json().catch(() => ({}))) ?? {}) as { content?: string }).content ?? "";
      const commentId = Number(c.req.param("id"));
      const exists = this.reactions.some((r) => r.commentId === commentId && r.content === content);
      if (!exists) this.reactions.push({ commentId, content });
      return c.json({ id: this.reactions.length, content }, exists ? 200 : 201);
    });
    app.notFound((c) => c.json({ message: "Not Found" }, 404));
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  }

  private page<T>(items: T[], page: string | undefined): T[] {
    const p = Math.max(1, Number(page ?? "1"));
    return items.slice((p - 1) * 100, p * 100);
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  addPr(head: string, o: { title?: string; body?: string; base?: string; sha?: string } = {}): FakePr {
    const number = this.pulls.length + 1;
    const pr: FakePr = {
      number,
      title: o.title ?? head,
      body: o.body ?? "",
      head: { ref: head, sha: o.sha ?? this.branchSha(head) },
      base: { ref: o.base ?? this.defaultBranch },
      state: "open",
      merged_at: null,
      html_url: `https://github.com/o/r/pull/${number}`,
    };
    this.pulls.push(pr);
    return pr;
  }

  callsTo(method: string, pathPart: string | RegExp): Call[] {
    return this.calls.filter((c) => c.method === method && (typeof pathPart === "string" ? c.path.includes(pathPart) : pathPart.test(c.path)));
  }

  stop(): void {
    this.server.stop(true);
  }
}

// ---- git fixtures: a bare "origin" and a work repo whose GitHub URL is rewritten to it ----

export function git(cwd: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", "-C", cwd, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

export interface Repos {
  dir: string;
  bare: string;
  work: string;
  /** Head of plan/feat. */
  head: string;
  cleanup: () => void;
}

export const ORIGIN_URL = "https://github.com/o/r.git";

export function makeRepos(branch = "plan/feat"): Repos {
  const dir = mkdtempSync(join(tmpdir(), "kasmos-gh-"));
  const bare = join(dir, "origin.git");
  const work = join(dir, "work");
  Bun.spawnSync(["git", "init", "-q", "--bare", "-b", "main", bare]);
  Bun.spawnSync(["git", "init", "-q", "-b", "main", work]);
  git(work, "config", "user.name", "T");
  git(work, "config", "user.email", "t@example.com");
  git(work, "config", "commit.gpgsign", "false");
  writeFileSync(join(work, "README.md"), "hello\n");
  git(work, "add", ".");
  git(work, "commit", "-q", "-m", "initial");
  git(work, "remote", "add", "origin", ORIGIN_URL);
  git(work, "config", `url.${bare}.insteadOf`, ORIGIN_URL);
  git(work, "push", "-q", "origin", "main");
  git(work, "checkout", "-q", "-b", branch);
  writeFileSync(join(work, "feature.txt"), "feature\n");
  git(work, "add", ".");
  git(work, "commit", "-q", "-m", "add feature");
  writeFileSync(join(work, "README.md"), "hello world\n");
  git(work, "commit", "-q", "-am", "update readme");
  const head = git(work, "rev-parse", "HEAD");
  git(work, "checkout", "-q", "main");
  return { dir, bare, work, head, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const PLAN = `# Feature

**Goal:** Add the feature

## Wave 1: Build
### Task 1: Write feature file
Do it.
### Task 2: Update the readme
Also.
`;

// Fleet page: what needs the user first (attention items, with a button when the fix is a kasmos
// command), then live agents, spend today, and every repo's tasks by state. Re-rendered from the
// control API whenever the event stream says something happened: no polling, no reload.
import { api, ApiError, coalesced, type StreamedEvent } from "./api.ts";
import { age, agentHref, eventLine, h, replaceKeepingFocus, taskHref, usd } from "./dom.ts";
// The status shapes come from the contract (src/api/status.ts needs nothing but valibot, so this
// browser program checks against it); of the usage report only the total is read, stated here because
// its contract module reaches into the store, no part of a browser program.
import type { ActiveTaskStatus, RepoStatus, StatusResponse } from "../../api/status.ts";

interface UsageTotal {
  total: { cost_usd: number | null; input: number; output: number; cache_write: number; cache_read: number; agent_runs: number };
}

interface Fix {
  label: string;
  confirm: string;
  method: "POST";
  path: string;
  body?: unknown;
}

/** The kasmos command an attention item names as its fix, as the route the CLI would call. */
export function fixOf(project: string, task: string, attention: string): Fix | null {
  const enc = encodeURIComponent;
  const restart = /kas(?:mos)? agent restart ([A-Za-z0-9._-]+)/.exec(attention);
  if (restart) return { label: `Restart ${restart[1]}`, confirm: `Restart agent ${restart[1]} of ${project}/${task}?`, method: "POST", path: `/v1/repos/${enc(project)}/instances/${enc(restart[1]!)}/restart` };
  const retry = /kas(?:mos)? task retry ([A-Za-z0-9._-]+)/.exec(attention);
  if (retry) return { label: `Retry ${retry[1]}`, confirm: `Retry task ${project}/${retry[1]}?`, method: "POST", path: `/v1/repos/${enc(project)}/tasks/${enc(retry[1]!)}/retry` };
  const resume = /kas(?:mos)? task resume ([A-Za-z0-9._-]+)/.exec(attention);
  if (resume) return { label: `Resume ${resume[1]}`, confirm: `Resume ${project}/${resume[1]}? It gets a fresh allowance from what it has spent.`, method: "POST", path: `/v1/repos/${enc(project)}/tasks/${enc(resume[1]!)}/transition`, body: { event: "resume" } };
  return null;
}

const SPEND_MAX_AGE_MS = 30_000;

function todayUtc(): string {
  return `${new Date().toISOString().slice(0, 10)}T00:00:00Z`;
}

export class FleetPage {
  readonly stream = "/v1/events";
  private status: StatusResponse | null = null;
  private spend: UsageTotal | null = null;
  private recent: StreamedEvent[] = [];
  private spendStale = true;
  private spendReadAt = 0;
  private notice = "";

  constructor(private root: HTMLElement) {}

  /** An event arrived (null: the stream (re)connected): refresh once, coalescing bursts. */
  onEvent(e: StreamedEvent | null): void {
    if (e) {
      this.recent.unshift(e);
      this.recent.length = Math.min(this.recent.length, 20);
      // A transition shows at once, from the event itself; the reload that follows settles the rest.
      if (e.kind === "plan_transition" && this.applyTransition(e)) this.render();
    }
    if (e === null || e.kind === "agent_finished" || e.kind === "agent_failed" || e.kind === "agent_killed" || Date.now() - this.spendReadAt > SPEND_MAX_AGE_MS) this.spendStale = true;
    this.refresh();
  }

  /** Move a task to its new status in what the page shows (counts and its row). True when it changed. */
  applyTransition(e: StreamedEvent): boolean {
    const repo = this.status?.repos.find((r) => r.project === e.project);
    if (!repo || !e.from_status || !e.to_status || e.from_status === e.to_status) return false;
    const counts = repo.tasks_by_status;
    counts[e.from_status] = Math.max(0, (counts[e.from_status] ?? 0) - 1);
    counts[e.to_status] = (counts[e.to_status] ?? 0) + 1;
    const task = repo.tasks.find((t) => t.name === e.task);
    if (task) task.status = e.to_status;
    return true;
  }

  private refresh = coalesced(
    async () => {
      // Spend is read again when an agent ended (its usage is final then), on (re)connect, and at most
      // every 30 s otherwise (running agents' usage is read as they work): not on every event.
      const readSpend = this.spendStale;
      this.spendStale = false;
      if (readSpend) this.spendReadAt = Date.now();
      const [status, spend] = await Promise.all([api<StatusResponse>("/v1/status"), readSpend ? api<UsageTotal>(`/v1/usage?by=repo&since=${encodeURIComponent(todayUtc())}`) : Promise.resolve(this.spend)]);
      this.status = status;
      this.spend = spend;
      this.render();
    },
    (err) => {
      this.notice = `could not load: ${err.message}`;
      this.render();
    },
  );

  private async act(fix: Fix): Promise<void> {
    if (!window.confirm(fix.confirm)) return;
    try {
      await api(fix.path, { method: fix.method, ...(fix.body !== undefined ? { body: fix.body } : {}) });
      this.notice = `${fix.label}: done`;
    } catch (err) {
      this.notice = `${fix.label} refused: ${err instanceof ApiError ? err.message : String(err)}`;
    }
    this.render();
    this.refresh();
  }

  render(): void {
    const s = this.status;
    if (!s) return;
    const now = Date.now();
    const attention: { repo: RepoStatus; task: ActiveTaskStatus }[] = [];
    for (const repo of s.repos) for (const task of repo.tasks) if (task.attention) attention.push({ repo, task });
    const problems = s.repos.filter((r) => r.problem || r.failed_signals_24h > 0);
    const agents = s.repos.flatMap((repo) => repo.tasks.flatMap((task) => task.agents.map((a) => ({ repo, task, a }))));
    const total = this.spend?.total;
    const tokens = total ? total.input + total.output + total.cache_write + total.cache_read : 0;

    const sections: Node[] = [];
    if (this.notice) sections.push(h("p", { class: "notice", role: "status" }, this.notice));
    sections.push(
      h(
        "section",
        { "aria-labelledby": "h-attention", class: attention.length + problems.length > 0 ? "attention" : "" },
        h("h2", { id: "h-attention" }, `Needs you (${attention.length + problems.length})`),
        attention.length + problems.length === 0
          ? h("p", { class: "quiet" }, "Nothing waits on you.")
          : h(
              "ul",
              { class: "items" },
              ...attention.map(({ repo, task }) => {
                const fix = fixOf(repo.project, task.name, task.attention);
                return h(
                  "li",
                  { class: "item", "data-task": `${repo.project}/${task.name}` },
                  h("div", { class: "what" }, h("a", { href: taskHref(repo.project, task.name) }, h("strong", {}, `${repo.project} / ${task.name}`)), " ", h("span", { class: `state s-${task.status}` }, task.status)),
                  h("div", { class: "why" }, task.attention),
                  fix ? h("button", { type: "button", "data-key": `fix:${repo.project}/${task.name}`, onclick: () => void this.act(fix) }, fix.label) : null,
                );
              }),
              ...problems.map((r) =>
                h(
                  "li",
                  { class: "item" },
                  h("div", { class: "what" }, h("strong", {}, r.project)),
                  h("div", { class: "why" }, r.problem ?? `${r.failed_signals_24h} failed signal(s) in the last 24 h (kas signal list --status failed)`),
                ),
              ),
            ),
      ),
    );
    sections.push(
      h(
        "section",
        { "aria-labelledby": "h-summary", class: "summary" },
        h("h2", { id: "h-summary", class: "sr-only" }, "Summary"),
        h("div", { class: "stat" }, h("span", { class: "n", id: "live-agents" }, agents.length), h("span", {}, agents.length === 1 ? "live agent" : "live agents")),
        h("div", { class: "stat" }, h("span", { class: "n", id: "spend-today" }, total ? usd(total.cost_usd) : "–"), h("span", {}, `spent today${tokens ? ` · ${(tokens / 1000).toFixed(0)}k tokens` : ""}`)),
        h("div", { class: "stat" }, h("span", { class: "n" }, s.repo_count), h("span", {}, s.repo_count === 1 ? "repo" : "repos")),
      ),
    );
    if (agents.length > 0) {
      sections.push(
        h(
          "section",
          { "aria-labelledby": "h-agents" },
          h("h2", { id: "h-agents" }, "Live agents"),
          h("ul", { class: "items" }, ...agents.map(({ repo, task, a }) => h("li", { class: "row" }, h("a", { href: agentHref(repo.project, a.title) }, h("strong", {}, a.title)), h("span", {}, `${a.role}${a.wave ? ` · wave ${a.wave}` : ""}`), h("span", { class: "quiet" }, `${repo.project} / ${task.name}`), h("span", { class: "quiet" }, age(a.started_at, now))))),
        ),
      );
    }
    sections.push(
      h(
        "section",
        { "aria-labelledby": "h-repos" },
        h("h2", { id: "h-repos" }, "Repos"),
        s.repos.length === 0 ? h("p", { class: "quiet" }, "No repos registered (kas daemon add <path>).") : null,
        ...s.repos.map((repo) => this.repoCard(repo)),
      ),
    );
    if (this.recent.length > 0) {
      sections.push(
        h(
          "section",
          { "aria-labelledby": "h-events" },
          h("h2", { id: "h-events" }, "Just now"),
          h("ul", { class: "events" }, ...this.recent.map((e) => eventLine(e))),
        ),
      );
    }
    replaceKeepingFocus(this.root, sections);
  }

  private repoCard(repo: RepoStatus): HTMLElement {
    const counts = Object.entries(repo.tasks_by_status).filter(([, n]) => n > 0);
    return h(
      "article",
      { class: "repo", "data-repo": repo.project },
      h("h3", {}, repo.project, " ", h("span", { class: "quiet path" }, repo.path)),
      h("div", { class: "chips" }, ...(counts.length ? counts.map(([k, n]) => h("span", { class: `state s-${k}`, "data-state": k }, `${k} ${n}`)) : [h("span", { class: "quiet" }, "no tasks")])),
      repo.tasks.length
        ? h(
            "ul",
            { class: "items" },
            ...repo.tasks.map((t) =>
              h("li", { class: "row", "data-task": `${repo.project}/${t.name}` }, h("a", { href: taskHref(repo.project, t.name) }, h("strong", {}, t.name)), h("span", { class: `state s-${t.status}`, "data-status": t.status }, t.status), h("span", { class: "quiet" }, t.phase ? `${t.phase}${t.wave ? ` w${t.wave}` : ""}` : ""), h("span", { class: "quiet" }, t.tokens ? usd(t.cost_usd) : "")),
            ),
          )
        : null,
    );
  }
}

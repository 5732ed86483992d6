// Usage page: spend per day over 30 days as a bar chart, and per repo, role and model (GET /v1/usage,
// the route `kas usage` calls); the budget limits against today's spend and the tasks on hold, each
// with a resume (GET /v1/budget). Re-read when an agent ends (its usage is final then) or a hold moves.
import { api, type StreamedEvent } from "./api.ts";
import { h, replaceKeepingFocus, taskHref, usd } from "./dom.ts";

interface Group {
  key: string;
  input: number;
  output: number;
  cache_write: number;
  cache_read: number;
  cost_usd: number | null;
  unpriced_tokens: number;
}

interface Budget {
  limits: { task_usd: number; task_tokens: number; day_usd: number };
  today: { date: string; usd: number };
  holds: { project: string; task: string; hold: string; usd: number | null; tokens: number }[];
}

interface Report {
  groups: Group[];
  total: Group;
}

const tokensOf = (g: Group) => g.input + g.output + g.cache_write + g.cache_read;

/** A bar of the chart; its height set through the DOM (the page's CSP allows no inline style attribute). */
function bar(share: number): HTMLElement {
  const el = h("span", { class: "bar" });
  el.style.height = `${Math.max(2, Math.round(share * 100))}%`;
  return el;
}

export class UsagePage {
  readonly stream = "/v1/events?kinds=agent_finished,agent_failed,agent_killed,budget_warning,budget_exceeded,task_resumed,plan_transition";
  private reports: Record<string, Report> = {};
  private budget: Budget | null = null;
  private notice = "";
  private busy = false;

  constructor(private root: HTMLElement) {
    document.title = "usage · kasmos";
  }

  onEvent(_e: StreamedEvent | null): void {
    if (this.busy) return;
    this.busy = true;
    const by = ["day", "repo", "role", "model"];
    Promise.all([...by.map((b) => api<Report>(`/v1/usage?by=${b}&since=30d`)), api<Budget>("/v1/budget")])
      .then((rs) => {
        by.forEach((b, i) => (this.reports[b] = rs[i] as Report));
        this.budget = rs[by.length] as Budget;
        this.render();
      })
      .catch((err: Error) => this.root.replaceChildren(h("p", { class: "notice" }, `could not load: ${err.message}`)))
      .finally(() => (this.busy = false));
  }

  private async resume(project: string, task: string): Promise<void> {
    if (!window.confirm(`Resume ${project}/${task}? It gets a fresh allowance from what it has spent.`)) return;
    try {
      const r = await api<{ result: { result: string } }>(`/v1/repos/${encodeURIComponent(project)}/tasks/${encodeURIComponent(task)}/transition`, { method: "POST", body: { event: "resume" } });
      this.notice = `resume ${task}: ${r.result.result}`;
    } catch (err) {
      this.notice = `resume ${task} refused: ${(err as Error).message}`;
    }
    this.onEvent(null);
  }

  private budgetSection(): HTMLElement | null {
    const b = this.budget;
    if (!b) return null;
    const l = b.limits;
    const limits = [l.day_usd > 0 ? `${usd(l.day_usd)} a day` : "", l.task_usd > 0 ? `${usd(l.task_usd)} a task` : "", l.task_tokens > 0 ? `${(l.task_tokens / 1000).toFixed(0)}k tokens a task` : ""].filter(Boolean);
    const dayShare = l.day_usd > 0 ? Math.min(1, b.today.usd / l.day_usd) : 0;
    const meter = h("span", { class: "meter-fill" });
    meter.style.width = `${Math.round(dayShare * 100)}%`;
    return h(
      "section",
      { class: "item", "aria-labelledby": "h-budget" },
      h("h3", { id: "h-budget" }, "Budgets"),
      h("p", {}, limits.length ? `Limits: ${limits.join(", ")} ([budget] in daemon.toml; a repo's .kasmos/config.toml may set its own task limits).` : "No [budget] limits set."),
      h("p", {}, `Today (${b.today.date}, UTC): ${usd(b.today.usd)}${l.day_usd > 0 ? ` of ${usd(l.day_usd)}` : ""}`),
      l.day_usd > 0 ? h("div", { class: "meter", role: "meter", "aria-valuemin": "0", "aria-valuemax": String(l.day_usd), "aria-valuenow": String(b.today.usd), "aria-label": "spend today against the daily limit" }, meter) : null,
      b.holds.length === 0
        ? h("p", { class: "quiet" }, "No task on hold.")
        : h("ul", { class: "items", id: "holds" }, ...b.holds.map((x) => h("li", { class: "row", "data-task": `${x.project}/${x.task}` }, h("a", { href: taskHref(x.project, x.task) }, h("strong", {}, `${x.project} / ${x.task}`)), h("span", {}, `${usd(x.usd)} · ${(x.tokens / 1000).toFixed(1)}k tokens`), h("span", { class: "quiet" }, x.hold), h("button", { type: "button", class: "secondary", "data-key": `resume:${x.project}/${x.task}`, onclick: () => void this.resume(x.project, x.task) }, "resume")))),
    );
  }

  private render(): void {
    const days = [...(this.reports.day?.groups ?? [])].sort((a, b) => a.key.localeCompare(b.key));
    const top = Math.max(0.000001, ...days.map((d) => d.cost_usd ?? 0));
    const total = this.reports.day?.total;
    const table = (title: string, r: Report | undefined) =>
      h("section", { class: "item" }, h("h3", {}, title), r && r.groups.length ? h("ul", { class: "items" }, ...r.groups.map((g) => h("li", { class: "row" }, h("strong", {}, g.key || "—"), h("span", {}, usd(g.cost_usd)), h("span", { class: "quiet" }, `${(tokensOf(g) / 1000).toFixed(1)}k tokens`), g.unpriced_tokens ? h("span", { class: "quiet" }, `${(g.unpriced_tokens / 1000).toFixed(1)}k unpriced`) : null))) : h("p", { class: "quiet" }, "nothing recorded"));
    const budget = this.budgetSection();
    replaceKeepingFocus(this.root, [
      ...(this.notice ? [h("p", { class: "notice", role: "status" }, this.notice)] : []),
      h("h2", {}, "Usage, last 30 days"),
      h("p", {}, total ? `${usd(total.cost_usd)} · ${(tokensOf(total) / 1000).toFixed(1)}k tokens` : ""),
      h(
        "figure",
        { class: "chart", "aria-label": "spend per day" },
        days.length === 0 ? h("p", { class: "quiet" }, "no spend recorded") : h("ol", { class: "bars" }, ...days.map((d) => h("li", { title: `${d.key}: ${usd(d.cost_usd)}` }, bar((d.cost_usd ?? 0) / top), h("span", { class: "day" }, d.key.slice(8))))),
      ),
      ...(budget ? [budget] : []),
      table("by repo", this.reports.repo),
      table("by role", this.reports.role),
      table("by model", this.reports.model),
    ]);
  }
}

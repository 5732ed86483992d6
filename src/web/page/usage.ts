// Usage page: spend per day over 30 days as a bar chart, and per repo, role and model (GET /v1/usage,
// the route `kas usage` calls). Re-read when an agent ends (its usage is final then).
import { api, type StreamedEvent } from "./api.ts";
import { h, replaceKeepingFocus, usd } from "./dom.ts";

interface Group {
  key: string;
  input: number;
  output: number;
  cache_write: number;
  cache_read: number;
  cost_usd: number | null;
  unpriced_tokens: number;
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
  readonly stream = "/v1/events?kinds=agent_finished,agent_failed,agent_killed,budget_warning,budget_exceeded,task_resumed";
  private reports: Record<string, Report> = {};
  private busy = false;

  constructor(private root: HTMLElement) {
    document.title = "usage · kasmos";
  }

  onEvent(_e: StreamedEvent | null): void {
    if (this.busy) return;
    this.busy = true;
    const by = ["day", "repo", "role", "model"];
    Promise.all(by.map((b) => api<Report>(`/v1/usage?by=${b}&since=30d`)))
      .then((rs) => {
        by.forEach((b, i) => (this.reports[b] = rs[i]!));
        this.render();
      })
      .catch((err: Error) => this.root.replaceChildren(h("p", { class: "notice" }, `could not load: ${err.message}`)))
      .finally(() => (this.busy = false));
  }

  private render(): void {
    const days = [...(this.reports.day?.groups ?? [])].sort((a, b) => a.key.localeCompare(b.key));
    const top = Math.max(0.000001, ...days.map((d) => d.cost_usd ?? 0));
    const total = this.reports.day?.total;
    const table = (title: string, r: Report | undefined) =>
      h("section", { class: "item" }, h("h3", {}, title), r && r.groups.length ? h("ul", { class: "items" }, ...r.groups.map((g) => h("li", { class: "row" }, h("strong", {}, g.key || "—"), h("span", {}, usd(g.cost_usd)), h("span", { class: "quiet" }, `${(tokensOf(g) / 1000).toFixed(1)}k tokens`), g.unpriced_tokens ? h("span", { class: "quiet" }, `${(g.unpriced_tokens / 1000).toFixed(1)}k unpriced`) : null))) : h("p", { class: "quiet" }, "nothing recorded"));
    replaceKeepingFocus(this.root, [
      h("h2", {}, "Usage, last 30 days"),
      h("p", {}, total ? `${usd(total.cost_usd)} · ${(tokensOf(total) / 1000).toFixed(1)}k tokens` : ""),
      h(
        "figure",
        { class: "chart", "aria-label": "spend per day" },
        days.length === 0 ? h("p", { class: "quiet" }, "no spend recorded") : h("ol", { class: "bars" }, ...days.map((d) => h("li", { title: `${d.key}: ${usd(d.cost_usd)}` }, bar((d.cost_usd ?? 0) / top), h("span", { class: "day" }, d.key.slice(8))))),
      ),
      table("by repo", this.reports.repo),
      table("by role", this.reports.role),
      table("by model", this.reports.model),
    ]);
  }
}

// Task page: where the task stands (status, phase, PR), the plan's waves and subtasks, its agents, its
// spend by role and model, the actions its state allows (each behind a confirmation) and its whole
// timeline, replayed from the event stream and then live.
import { DAEMON_ONLY_EVENTS, type FsmEvent, type TaskStatus } from "../../lifecycle/types.ts";
import { TRANSITIONS } from "../../lifecycle/fsm.ts";
import { api, ApiError, coalesced, type StreamedEvent } from "./api.ts";
import { type DiffView, renderDiff } from "./diff.ts";
import { agentHref, eventLine, h, replaceKeepingFocus, usd } from "./dom.ts";

/** Events after which the branch may have new commits: the diff is read again. */
const BRANCH_MOVES = new Set(["agent_finished", "wave_completed", "plan_transition", "git_push"]);

/** The fields of GET …/tasks/:name the page reads (its contract module reaches into the store). */
interface TaskShow {
  task: { name: string; status: TaskStatus; description: string; branch: string; execution: { phase: string; agent: string; wave: number }; review_cycle: number; verify_cycle: number; hold: string; pr_url: string; pr_state: string; pr_number: number | null; latest_feedback: string };
  subtasks: { number: number; title: string; wave: number; status: string }[];
}

interface AgentEntry {
  title: string;
  role: string;
  wave: number;
  state: string;
  activity: string;
  reason: string;
  started_at: string;
  ended_at: string | null;
}

interface UsageGroups {
  groups: { key: string; input: number; output: number; cache_write: number; cache_read: number; cost_usd: number | null }[];
}

/** Events an operator may send in a state: the table's edges minus the daemon's own. */
export function operatorEvents(status: TaskStatus): FsmEvent[] {
  return (Object.keys(TRANSITIONS[status]) as FsmEvent[]).filter((e) => !DAEMON_ONLY_EVENTS.includes(e));
}

/** Timeline entries per page: a task with a long history opens as fast as a new one. */
const TIMELINE_PAGE = 50;

export class TaskPage {
  readonly stream: string;
  private show: TaskShow | null = null;
  private agents: AgentEntry[] = [];
  private byRole: UsageGroups | null = null;
  private byModel: UsageGroups | null = null;
  private timeline: StreamedEvent[] = [];
  /** How many of the timeline's newest entries are shown: a page at a time, "older" shows the next. */
  private timelineShown = TIMELINE_PAGE;
  private diff: DiffView | string | null = null;
  private notice = "";
  private base: string;

  constructor(
    private root: HTMLElement,
    private project: string,
    private name: string,
  ) {
    const q = new URLSearchParams({ project, task: name, after: "0" });
    this.stream = `/v1/events?${q}`;
    this.base = `/v1/repos/${encodeURIComponent(project)}`;
    document.title = `${name} · kasmos`;
  }

  onEvent(e: StreamedEvent | null): void {
    if (e) {
      if (this.timeline.some((x) => x.id === e.id)) return;
      this.timeline.unshift(e);
      if (this.timeline.length > 2000) this.timeline.length = 2000;
    }
    if (e === null || BRANCH_MOVES.has(e.kind)) this.refreshDiff();
    this.refresh();
  }

  private refresh = coalesced(
    async () => {
      const t = encodeURIComponent(this.name);
      const usage = (by: string) => api<UsageGroups>(`/v1/usage?${new URLSearchParams({ project: this.project, task: this.name, by })}`);
      [this.show, this.agents, this.byRole, this.byModel] = await Promise.all([api<TaskShow>(`${this.base}/tasks/${t}`), api<AgentEntry[]>(`${this.base}/instances?all=1&task=${t}`), usage("role"), usage("model")]);
      this.render();
    },
    (err) => {
      this.notice = err instanceof ApiError && err.status === 404 ? `no task ${this.name} in ${this.project}` : `could not load: ${err.message}`;
      this.render();
    },
  );

  private refreshDiff = coalesced(
    async () => {
      try {
        this.diff = await api<DiffView>(`${this.base}/tasks/${encodeURIComponent(this.name)}/diff`);
      } catch (err) {
        this.diff = (err as Error).message;
      }
      this.render();
    },
    () => undefined,
  );

  private async act(label: string, question: string, path: string, body?: unknown): Promise<void> {
    if (!window.confirm(question)) return;
    try {
      const r = await api<{ result?: { result: string }; note?: string }>(path, { method: "POST", body: body ?? {} });
      this.notice = `${label}: ${r.result?.result ?? r.note ?? "done"}`;
    } catch (err) {
      this.notice = `${label} refused: ${(err as Error).message}`;
    }
    this.render();
    this.refresh();
  }

  private showOlder(): void {
    this.timelineShown += TIMELINE_PAGE;
    this.render();
  }

  render(): void {
    const out: Node[] = [h("p", { class: "crumbs" }, h("a", { href: "/" }, "Fleet"), ` / ${this.project} / `, h("strong", {}, this.name))];
    if (this.notice) out.push(h("p", { class: "notice", role: "status" }, this.notice));
    const s = this.show;
    if (s) {
      const t = s.task;
      const enc = encodeURIComponent(this.name);
      out.push(
        h(
          "section",
          { "aria-labelledby": "h-task", class: "item" },
          h("h2", { id: "h-task" }, t.name, " ", h("span", { class: `state s-${t.status}`, "data-status": t.status }, t.status)),
          t.description ? h("p", {}, t.description) : null,
          h("p", { class: "quiet" }, [t.execution.phase && `phase ${t.execution.phase}${t.execution.wave ? ` wave ${t.execution.wave}` : ""}`, t.branch && `branch ${t.branch}`, t.review_cycle && `review cycle ${t.review_cycle}`, t.verify_cycle && `verify cycle ${t.verify_cycle}`].filter(Boolean).join(" · ")),
          t.hold ? h("p", { class: "notice" }, `on hold: ${t.hold}`) : null,
          t.pr_url ? h("p", {}, h("a", { href: t.pr_url, rel: "noreferrer" }, `PR${t.pr_number ? ` #${t.pr_number}` : ""}`), t.pr_state ? ` (${t.pr_state})` : "") : null,
          t.latest_feedback ? h("details", {}, h("summary", {}, "latest feedback"), h("pre", {}, t.latest_feedback)) : null,
          h(
            "div",
            { class: "actions" },
            ...operatorEvents(t.status).map((ev) => h("button", { type: "button", "data-key": `ev:${ev}`, "data-event": ev, onclick: () => void this.act(ev, `Send ${ev} to ${this.project}/${this.name}?`, `${this.base}/tasks/${enc}/transition`, { event: ev }) }, ev.replace(/_/g, " "))),
            h("button", { type: "button", class: "secondary", "data-key": "retry", onclick: () => void this.act("retry", `Restart every missing, failed or stuck agent of ${this.name}?`, `${this.base}/tasks/${enc}/retry`) }, "retry agents"),
          ),
        ),
      );
      if (s.subtasks.length > 0) {
        const waves = new Map<number, TaskShow["subtasks"]>();
        for (const st of s.subtasks) waves.set(st.wave, [...(waves.get(st.wave) ?? []), st]);
        out.push(
          h(
            "section",
            { "aria-labelledby": "h-plan" },
            h("h2", { id: "h-plan" }, "Plan"),
            ...[...waves].map(([wave, list]) => h("div", { class: "item" }, h("h3", {}, `Wave ${wave}`), h("ul", { class: "items" }, ...list.map((st) => h("li", { class: "row" }, h("span", {}, `${st.number}. ${st.title}`), h("span", { class: `state s-${st.status}` }, st.status)))))),
          ),
        );
      }
    }
    out.push(
      h(
        "section",
        { "aria-labelledby": "h-agents" },
        h("h2", { id: "h-agents" }, "Agents"),
        this.agents.length === 0
          ? h("p", { class: "quiet" }, "none yet")
          : h(
              "ul",
              { class: "items" },
              ...this.agents.map((a) =>
                h(
                  "li",
                  { class: "row" },
                  h("a", { href: agentHref(this.project, a.title) }, h("strong", {}, a.title)),
                  h("span", {}, `${a.role}${a.wave ? ` · wave ${a.wave}` : ""}`),
                  h("span", { class: `state s-${a.state}` }, a.state === "running" && a.activity ? a.activity : a.state),
                  a.reason ? h("span", { class: "quiet" }, a.reason) : null,
                  a.state !== "running" ? h("button", { type: "button", class: "secondary", "data-key": `restart:${a.title}`, onclick: () => void this.act(`restart ${a.title}`, `Restart agent ${a.title}?`, `${this.base}/instances/${encodeURIComponent(a.title)}/restart`) }, "restart") : null,
                ),
              ),
            ),
      ),
    );
    const usageTable = (title: string, u: UsageGroups | null) =>
      u && u.groups.length > 0
        ? h("div", { class: "item" }, h("h3", {}, title), h("ul", { class: "items" }, ...u.groups.map((g) => h("li", { class: "row" }, h("strong", {}, g.key || "—"), h("span", {}, usd(g.cost_usd)), h("span", { class: "quiet" }, `${((g.input + g.output + g.cache_write + g.cache_read) / 1000).toFixed(1)}k tokens`)))))
        : null;
    out.push(h("section", { "aria-labelledby": "h-usage" }, h("h2", { id: "h-usage" }, "Spend"), usageTable("by role", this.byRole) ?? h("p", { class: "quiet" }, "no usage recorded"), usageTable("by model", this.byModel)));
    out.push(h("section", { "aria-labelledby": "h-diff" }, h("h2", { id: "h-diff" }, "Changes"), this.diff === null ? h("p", { class: "quiet" }, "loading…") : typeof this.diff === "string" ? h("p", { class: "quiet" }, this.diff) : renderDiff(this.diff)));
    const shown = this.timeline.slice(0, this.timelineShown);
    const older = this.timeline.length - shown.length;
    const olderButton = h("button", { type: "button", class: "secondary", "data-key": "older", onclick: () => this.showOlder() }, `show ${Math.min(older, TIMELINE_PAGE)} older of ${older}`);
    out.push(
      h(
        "section",
        { "aria-labelledby": "h-timeline" },
        h("h2", { id: "h-timeline" }, `Timeline (${this.timeline.length})`),
        h("ul", { class: "events timeline" }, ...shown.map((e) => eventLine(e, false))),
        older > 0 ? olderButton : null,
      ),
    );
    replaceKeepingFocus(this.root, out);
  }
}

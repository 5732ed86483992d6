// Events page: the live event log, filterable by repo, task and kind (the filters are the stream's own
// query, so the daemon filters). With a task named, its whole history is replayed first.
import type { StreamedEvent } from "./api.ts";
import { eventLine, h } from "./dom.ts";

const MAX_SHOWN = 500;

export class EventsPage {
  readonly stream: string;
  private list: HTMLElement;

  constructor(root: HTMLElement, query: URLSearchParams) {
    const project = query.get("project") ?? "";
    const task = query.get("task") ?? "";
    const kinds = query.get("kinds") ?? "";
    const q = new URLSearchParams();
    if (project) q.set("project", project);
    if (task) q.set("task", task);
    if (kinds) q.set("kinds", kinds);
    if (task) q.set("after", "0");
    this.stream = `/v1/events${q.size ? `?${q}` : ""}`;
    const field = (name: string, label: string, value: string, hint: string) =>
      h("label", {}, label, h("input", { name, value, placeholder: hint, autocomplete: "off", spellcheck: "false" }));
    this.list = h("ul", { class: "events", id: "event-log", "aria-live": "polite" });
    root.replaceChildren(
      h("h2", {}, "Events"),
      h("form", { class: "filters", method: "GET", action: "/events" }, field("project", "repo", project, "all"), field("task", "task", task, "all"), field("kinds", "kinds", kinds, "e.g. plan_transition,attention"), h("button", { type: "submit" }, "filter")),
      h("p", { class: "quiet" }, task ? "The task's whole history, then live." : "From now on, live (a task filter replays its history)."),
      this.list,
    );
  }

  onEvent(e: StreamedEvent | null): void {
    if (!e) return;
    this.list.prepend(eventLine(e));
    while (this.list.childElementCount > MAX_SHOWN) this.list.lastElementChild?.remove();
  }
}

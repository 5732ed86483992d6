// A small element builder: text always goes in as text (never parsed as HTML), so names and messages
// from the daemon cannot inject markup.
type Child = Node | string | number | null | undefined | false;

export function h(tag: string, attrs: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === "number" ? String(c) : c);
  return el;
}

/** Replace a container's content, keeping keyboard focus on the element with the same data-key. */
export function replaceKeepingFocus(container: HTMLElement, next: Node[]): void {
  const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset.key : undefined;
  container.replaceChildren(...next);
  if (focused) container.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

export function usd(n: number | null): string {
  return n === null ? "unpriced" : `$${n < 10 ? n.toFixed(2) : n.toFixed(0)}`;
}

export function taskHref(project: string, task: string): string {
  return `/task/${encodeURIComponent(project)}/${encodeURIComponent(task)}`;
}

export function agentHref(project: string, title: string): string {
  return `/agent/${encodeURIComponent(project)}/${encodeURIComponent(title)}`;
}

/** One line of the event log: time, kind, where, and a transition's from → to. */
export function eventLine(e: { kind: string; level: string; timestamp: string; project: string; task: string; message: string; from_status: string; to_status: string }, withWhere = true): HTMLElement {
  const where = withWhere && e.project ? `${e.project}${e.task ? ` / ${e.task}` : ""}: ` : "";
  const move = e.kind === "plan_transition" && e.from_status && e.to_status ? `${e.from_status} → ${e.to_status} ` : "";
  return h("li", { class: `ev l-${e.level}`, "data-kind": e.kind }, h("time", { datetime: e.timestamp }, e.timestamp.slice(11, 19)), " ", h("span", { class: "kind" }, e.kind), " ", where, h("strong", {}, move), e.message);
}

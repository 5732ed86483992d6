// The dashboard's script: picks the page the path names, follows the event stream that page needs
// and hands it every event.
import { followEvents, type StreamedEvent, type StreamState } from "./api.ts";
import { EventsPage } from "./events.ts";
import { FleetPage } from "./fleet.ts";
import { TaskPage } from "./task.ts";
import { UsagePage } from "./usage.ts";
import { AgentPage } from "./agent.ts";

/** What every page offers main: the event stream it follows, and what to do with each event. */
export interface Page {
  readonly stream: string;
  onEvent(e: StreamedEvent | null): void;
}

function pageFor(path: string, root: HTMLElement): Page {
  const seg = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (seg[0] === "task" && seg.length === 3) return new TaskPage(root, seg[1]!, seg[2]!);
  if (seg[0] === "agent" && seg.length === 3) return new AgentPage(root, seg[1]!, seg[2]!);
  if (seg[0] === "usage" && seg.length === 1) return new UsagePage(root);
  if (seg[0] === "events" && seg.length === 1) return new EventsPage(root, new URLSearchParams(location.search));
  return new FleetPage(root);
}

const root = document.getElementById("app")!;
const conn = document.getElementById("conn")!;
const page = pageFor(location.pathname, root);
for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a")) if (a.pathname === location.pathname) a.setAttribute("aria-current", "page");

const LABELS: Record<StreamState, string> = { live: "live", reconnecting: "reconnecting…", "logged-out": "logged out: run kas web for a new login link" };

void followEvents(
  page.stream,
  (e) => page.onEvent(e),
  (state) => {
    conn.textContent = LABELS[state];
    conn.dataset.state = state;
    document.body.dataset.stream = state;
  },
);

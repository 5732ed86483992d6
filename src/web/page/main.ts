// The dashboard's script for every page but the Agent page (agent-main.ts, which carries xterm.js):
// picks the page the path names and runs it.
import { EventsPage } from "./events.ts";
import { FleetPage } from "./fleet.ts";
import { type Page, runPage } from "./shell.ts";
import { TaskPage } from "./task.ts";
import { UsagePage } from "./usage.ts";

function pageFor(path: string, root: HTMLElement): Page {
  const seg = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (seg[0] === "task" && seg.length === 3) return new TaskPage(root, seg[1]!, seg[2]!);
  if (seg[0] === "usage" && seg.length === 1) return new UsagePage(root);
  if (seg[0] === "events" && seg.length === 1) return new EventsPage(root, new URLSearchParams(location.search));
  return new FleetPage(root);
}

runPage(pageFor(location.pathname, document.getElementById("app")!));

// What every page's script does around the page itself: marks the current page in the nav, follows
// its event stream and hands it every event, and shows the stream's state. The page loads once the
// stream is connected (its first "resync"), so no event can fall between the load and the stream.
import { followEvents, type StreamedEvent, type StreamState } from "./api.ts";

/** What a page offers the shell: the event stream it follows, and what to do with each event (null: resync). */
export interface Page {
  readonly stream: string;
  onEvent(e: StreamedEvent | null): void;
}

const LABELS: Record<StreamState, string> = { live: "live", reconnecting: "reconnecting…", "logged-out": "logged out: run kas web for a new login link" };

export function runPage(page: Page): void {
  const conn = document.getElementById("conn")!;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a")) if (a.pathname === location.pathname) a.setAttribute("aria-current", "page");
  void followEvents(
    page.stream,
    (e) => page.onEvent(e),
    (state) => {
      conn.textContent = LABELS[state];
      conn.dataset.state = state;
      document.body.dataset.stream = state;
    },
  );
}

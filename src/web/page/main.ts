// The dashboard's script: follows the event stream and renders the fleet page from it.
import { followEvents, type StreamState } from "./api.ts";
import { FleetPage } from "./fleet.ts";

const root = document.getElementById("app")!;
const conn = document.getElementById("conn")!;
const page = new FleetPage(root);

const LABELS: Record<StreamState, string> = { live: "live", reconnecting: "reconnecting…", "logged-out": "logged out: run kas web for a new login link" };

void followEvents(
  (e) => page.onEvent(e),
  (state) => {
    conn.textContent = LABELS[state];
    conn.dataset.state = state;
    document.body.dataset.stream = state;
  },
);

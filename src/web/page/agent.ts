// Agent page: the agent's live terminal in xterm.js, streamed as it prints (GET …/terminal, server-sent
// events), read-only until an explicit "take over" (audited); then what is typed goes to the pane in
// small batches (POST …/keys). Its events (start, nudges, end) follow below.
//
// SSE and POST rather than a WebSocket: the output only flows one way, and the page already follows
// SSE through the same login; keystrokes are ordinary state changes, so they get the same cookie and
// Origin checks as every other POST, where a WebSocket would need its own check at the upgrade.
import { Terminal } from "@xterm/xterm";
import { api, followSse, type StreamedEvent } from "./api.ts";
import { eventLine, h, taskHref } from "./dom.ts";

interface Screen {
  screen: string;
  cursor_x: number;
  cursor_y: number;
  cols: number;
  rows: number;
  taken_over: boolean;
}

export class AgentPage {
  readonly stream: string;
  private term: Terminal;
  private base: string;
  private status: HTMLElement;
  private takeBtn: HTMLButtonElement;
  private log: HTMLElement;
  private takenOver = false;
  private pending = "";
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private sending = false;
  private ended = false;

  constructor(
    root: HTMLElement,
    private project: string,
    private title: string,
  ) {
    document.title = `${title} · kasmos`;
    this.stream = `/v1/events?${new URLSearchParams({ project, kinds: "agent_spawned,agent_finished,agent_failed,agent_killed,agent_nudged,agent_waiting,agent_restarted,stuck_detected,prompt_sent,terminal_takeover,terminal_released" })}`;
    this.base = `/v1/repos/${encodeURIComponent(project)}/instances/${encodeURIComponent(title)}`;
    const taskCrumb = h("span", {});
    this.status = h("span", { class: "quiet", id: "term-status", role: "status" }, "connecting…");
    this.takeBtn = h("button", { type: "button", id: "takeover", onclick: () => void this.toggleTakeover() }, "Take over") as HTMLButtonElement;
    const holder = h("div", { class: "term", id: "terminal" });
    this.log = h("ul", { class: "events" });
    root.replaceChildren(
      h("p", { class: "crumbs" }, h("a", { href: "/" }, "Fleet"), ` / ${project} / `, taskCrumb, h("strong", {}, title)),
      h("div", { class: "termbar" }, this.takeBtn, this.status),
      holder,
      h("h2", {}, "Events"),
      this.log,
    );
    this.term = new Terminal({ disableStdin: true, convertEol: false, scrollback: 5000, fontSize: 13, cursorBlink: false });
    this.term.open(holder);
    // Which task it works for: from the agents list (the title alone does not say it reliably).
    void api<{ title: string; task: string }[]>(`/v1/repos/${encodeURIComponent(project)}/instances?all=1`)
      .then((list) => {
        const task = list.find((a) => a.title === title)?.task;
        if (task) taskCrumb.replaceChildren(h("a", { href: taskHref(project, task) }, task), " / ");
      })
      .catch(() => undefined);
    this.term.onData((d) => this.typed(d));
    void followSse(
      `${this.base}/terminal`,
      {
        message: (name, data) => this.onTerminal(name, JSON.parse(data) as Record<string, unknown>),
        open: () => undefined,
        state: (s) => {
          if (s !== "live" && !this.ended) this.status.textContent = s === "logged-out" ? "logged out" : "reconnecting…";
        },
      },
      () => this.ended,
    );
  }

  private onTerminal(name: string, data: Record<string, unknown>): void {
    if (name === "screen") {
      const s = data as unknown as Screen;
      this.term.reset();
      this.term.resize(Math.max(10, s.cols), Math.max(5, s.rows));
      // capture-pane ends lines with \n only: each needs a carriage return too.
      this.term.write(s.screen.replace(/\n$/, "").replace(/\n/g, "\r\n"));
      this.term.write(`\x1b[${s.cursor_y + 1};${s.cursor_x + 1}H`);
      this.setTakenOver(s.taken_over);
      this.status.textContent = this.takenOver ? "live · you are typing into this agent" : "live · read-only";
    } else if (name === "output") {
      this.term.write(String(data.output));
    } else if (name === "takeover") {
      this.setTakenOver(data.taken_over === true);
    } else if (name === "end") {
      this.ended = true;
      this.status.textContent = `ended: ${String(data.end)}`;
      this.setTakenOver(false);
      this.takeBtn.disabled = true;
    }
  }

  private setTakenOver(on: boolean): void {
    this.takenOver = on;
    this.term.options.disableStdin = !on;
    this.takeBtn.textContent = on ? "Hand back" : "Take over";
    this.takeBtn.setAttribute("aria-pressed", String(on));
    document.body.dataset.takenOver = String(on);
    if (!this.ended) this.status.textContent = on ? "live · you are typing into this agent" : "live · read-only";
  }

  private async toggleTakeover(): Promise<void> {
    const release = this.takenOver;
    if (!release && !window.confirm(`Take over ${this.title}'s terminal? What you type goes to the agent (recorded in the audit log).`)) return;
    try {
      const r = await api<{ taken_over: boolean }>(`${this.base}/takeover`, { method: "POST", body: { release } });
      this.setTakenOver(r.taken_over);
      if (r.taken_over) this.term.focus();
    } catch (err) {
      this.status.textContent = `refused: ${(err as Error).message}`;
    }
  }

  /**
   * Keystrokes go out in small batches (a paste is one), in order: one request at a time, since two in
   * flight together can reach the daemon in either order.
   */
  private typed(data: string): void {
    if (!this.takenOver) return;
    this.pending += data;
    if (!this.sending) this.flushTimer ??= setTimeout(() => void this.flush(), 30);
  }

  private async flush(): Promise<void> {
    this.flushTimer = null;
    if (this.sending) return; // sent when the request in flight ends
    const text = this.pending;
    this.pending = "";
    if (text === "") return;
    this.sending = true;
    try {
      await api(`${this.base}/keys`, { method: "POST", body: { text } });
    } catch (err) {
      this.status.textContent = `typing refused: ${(err as Error).message}`;
    } finally {
      this.sending = false;
      if (this.pending !== "") this.flushTimer ??= setTimeout(() => void this.flush(), 0);
    }
  }

  onEvent(e: StreamedEvent | null): void {
    if (!e || !(e.message.includes(this.title) || e.task === this.title)) return;
    this.log.prepend(eventLine(e, false));
    while (this.log.childElementCount > 200) this.log.lastElementChild?.remove();
  }
}

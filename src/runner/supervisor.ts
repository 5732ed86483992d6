// Supervision: what running agents are doing. Hooks (claude, codex) say when a turn ends or a person is
// needed; for the rest, and for screens shown before any hook runs, the pane is read — only when tmux
// says it changed since the last look (window_activity), so idle agents cost nothing. Raises attention
// once per (agent, state) and nudges an agent that ended its turn without its signal.
import type { AgentEventBody } from "../api/agents.ts";
import type { AgentActivity, TypedStart } from "../agents/harness/types.ts";
import { readSmallRegularFile } from "../agents/record-file.ts";
import { activityFromEvent, firstMeaningfulLine, lastPaneLines, matchDialog, nudgeText, screenQuote, stallFromPane } from "../agents/supervise.ts";
import type { SessionInfo } from "../agents/tmux.ts";
import { harnessOfAgent, type UsageCollector } from "../agents/usage-collector.ts";
import { type AgentRow, addNudge, liveAgentByTitle, setActivity, setAttention } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { writeTx } from "../store/db.ts";
import { type RunnerDeps, sessionTitleOf } from "./context.ts";
import { promptFileOf } from "./paths.ts";
import type { Pauses } from "./pauses.ts";
import type { StartGate } from "./start-gate.ts";

/** Seconds of pane silence after which a pane is read once for a stall the CLI did not report. */
const QUIET_SEC = 3;

/** Seconds a screen must stand still before kasmos types a first message into it. */
const TYPE_QUIET_SEC = 2;

export class Supervisor {
  /** Per agent id: the pane's last output time (tmux window_activity) when we last looked at it. */
  private paneSeen = new Map<number, number>();
  /** Attention items already raised, per agent id and activity timestamp: never twice for one state. */
  private reported = new Set<string>();
  private answeredTrust = new Set<number>();
  /** Per agent id: the pane's output time when it was last read for a stall while quiet. */
  private stallLook = new Map<number, number>();
  /** Per agent id: the pane's output time when it was last read as a possibly unknown screen. */
  private unknownLook = new Map<number, number>();

  constructor(
    private deps: RunnerDeps,
    private gate: StartGate,
    private usage: UsageCollector,
    private pauses: Pauses,
  ) {}

  /** Text to type into an agent once its first screen shows (HarnessCommand.typeAfterStart), by agent id. */
  private typeAtFirstScreen = new Map<number, TypedStart>();

  /** Type a first message into the agent once its screen is up (its keys first). */
  typeOnFirstScreen(agentId: number, first: TypedStart): void {
    this.typeAtFirstScreen.set(agentId, { ...first, keys: [...first.keys] });
  }

  /** The agent ended or was stopped: its pane is not looked at again. */
  forget(agentId: number): void {
    this.typeAtFirstScreen.delete(agentId);
    this.paneSeen.delete(agentId);
    this.stallLook.delete(agentId);
    this.unknownLook.delete(agentId);
    this.pauses.forget(agentId);
  }

  /** Alive but stuck: waiting for a person, or an attention item was raised for it (an error screen, no start, a dialog). */
  isStuck(a: AgentRow): boolean {
    return a.activity === "waiting" || this.pauses.needsPerson(a.id) || [...this.reported].some((k) => k.startsWith(`${a.id}:`));
  }

  /** The last lines a pane printed (it stays after exit: remain-on-exit). */
  async exitLines(a: AgentRow): Promise<string[]> {
    try {
      return lastPaneLines(await this.deps.tmux.capture(sessionTitleOf(a), { start: -200 }), 20);
    } catch {
      return [];
    }
  }

  private async paneText(a: AgentRow, lines = 40): Promise<string> {
    try {
      return await this.deps.tmux.capture(sessionTitleOf(a), { start: -lines });
    } catch {
      return "";
    }
  }

  /** Raise an attention item once per (agent, state). */
  private raise(a: AgentRow, key: string, kind: "agent_waiting" | "stuck_detected" | "attention", text: string, detail: Record<string, unknown> = {}): void {
    const k = `${a.id}:${key}`;
    if (this.reported.has(k)) return;
    this.reported.add(k);
    writeTx(this.deps.db, () => {
      setAttention(this.deps.db, a.project, a.task, text);
      recordAudit(this.deps.db, { kind, project: a.project, task: a.task, message: text, detail: { title: a.title, ...detail }, level: "warn" });
    });
    this.deps.log.warn(`${a.project}/${a.task}: ${text}`);
    this.deps.hub.pump();
  }

  private promptOf(a: AgentRow): string {
    return readSmallRegularFile(promptFileOf(a.project, a.title), 4 * 1024 * 1024) ?? ""; // the agent could swap it for a FIFO
  }

  /** One look at a running agent that its task still needs (`stopping`: it is being stopped, leave it). */
  async look(a: AgentRow, s: SessionInfo | null, stopping: boolean): Promise<void> {
    if (!s || s.dead || stopping) return;
    const sup = this.deps.config().supervision;
    const h = harnessOfAgent(a);
    const now = Date.now();
    const seen = this.paneSeen.get(a.id);
    const changed = seen === undefined || s.activityAt !== seen;
    // tmux's activity clock counts whole seconds: output later in the second it read (a second ago at
    // most) would not change it, so a pane active that recently is read again at the next look.
    this.paneSeen.set(a.id, Math.floor(now / 1000) - 1 <= s.activityAt ? -1 : s.activityAt);
    let activity = (a.activity || "starting") as AgentActivity;
    const since = a.activityAt ? Date.parse(a.activityAt) : Date.parse(a.startedAt);

    // Paused at a limit or an outage: nothing else is read or done until its wait is over.
    if (this.pauses.isHeld(a.id)) {
      await this.pauses.continueIfDue(a, async () => {
        const pane = await this.paneText(a);
        const popup = (h.popups ?? []).find((p) => p.pattern.test(lastPaneLines(pane, 30).join("\n")));
        if (popup) await this.deps.tmux.sendKeys(sessionTitleOf(a), ...popup.keys).catch(() => undefined);
      });
      return;
    }
    // A first message to type (HarnessCommand.typeAfterStart): once the screen has shown and then stood
    // still a moment, the CLI is up and its input takes keys (typed earlier, they were lost while it
    // drew). Its keys go first, one per look (never a sleep here: the pass would wait for it).
    const typing = this.typeAtFirstScreen.get(a.id);
    if (typing !== undefined && !changed && s.activityAt > 0 && now / 1000 - s.activityAt >= TYPE_QUIET_SEC && typing.ready.test(lastPaneLines(await this.paneText(a), 40).join("\n"))) {
      const key = typing.keys.shift();
      try {
        if (key !== undefined) return await this.deps.tmux.sendKeys(sessionTitleOf(a), key);
        this.typeAtFirstScreen.delete(a.id);
        await this.deps.tmux.sendText(sessionTitleOf(a), typing.text);
        recordAudit(this.deps.db, { kind: "prompt_sent", project: a.project, task: a.task, message: `first message typed into ${a.title} (${typing.text.length} chars): its CLI takes none on the command line here`, detail: { title: a.title } });
      } catch (err) {
        this.typeAtFirstScreen.delete(a.id);
        this.deps.log.warn(`${a.project}/${a.task}: typing the first message into ${a.title}: ${(err as Error).message}`);
      }
      return;
    }
    // A refused turn may end with no report at all (codex): a pane quiet for a few seconds is read once for a stall.
    if (h.stalls && !changed && s.activityAt > 0 && now / 1000 - s.activityAt >= QUIET_SEC && this.stallLook.get(a.id) !== s.activityAt) {
      this.stallLook.set(a.id, s.activityAt);
      const stall = stallFromPane(h, await this.paneText(a), now);
      if (stall && !stall.retrying) {
        this.gate.done(a);
        this.pauses.onStall(a, h.name, stall, now);
        return;
      }
    }
    // A CLI that reports its turns keeps its screen moving while it works (a spinner, a clock): one that
    // stands still this long, showing nothing a harness knows, may be a screen of a newer CLI.
    if (h.reportsTurns && (activity === "working" || activity === "starting") && !changed && s.activityAt > 0 && now / 1000 - s.activityAt >= sup.unknown_screen_sec && this.unknownLook.get(a.id) !== s.activityAt) {
      this.unknownLook.set(a.id, s.activityAt);
      const pane = await this.paneText(a);
      if (!matchDialog(h, pane) && !stallFromPane(h, pane, now)) {
        const screen = lastPaneLines(pane, 20);
        const first = firstMeaningfulLine(screen, h.noise);
        this.raise(a, `unknown:${s.activityAt}`, "stuck_detected", `${a.role} ${a.title} shows a screen kasmos does not know, unchanged for ${sup.unknown_screen_sec} s${first ? `: "${first}"` : ""} (look: kas agent capture ${a.title}; answer: kas agent send ${a.title} '…'; restart: kas agent restart ${a.title})`, { pane: screen });
        return;
      }
    }
    // Screens: the pane is read while the CLI has not reported itself yet, or always for CLIs without hooks;
    // the pane of one that reported its turn over is read for a stall only (a refused turn may send no report).
    if (changed && (!h.reportsTurns || activity === "starting" || activity === "waiting" || activity === "idle")) {
      const pane = await this.paneText(a);
      const stall = stallFromPane(h, pane, now);
      if (stall && !stall.retrying) {
        this.gate.done(a); // it is up, and waits for its provider
        this.pauses.onStall(a, h.name, stall, now);
        return;
      }
      const dialog = h.reportsTurns && activity === "idle" ? null : matchDialog(h, pane);
      if (dialog?.safeKeys && dialog.kind === "trust" && !this.answeredTrust.has(a.id)) {
        // The one answer kasmos gives for the user: trust of kasmos's own folder (preflight should have made it unnecessary).
        this.answeredTrust.add(a.id);
        for (const key of dialog.safeKeys) await this.deps.tmux.sendKeys(sessionTitleOf(a), key).catch(() => undefined);
        recordAudit(this.deps.db, { kind: "agent_preflight", project: a.project, task: a.task, message: `${a.title}: answered "${dialog.what}" with trust (kasmos's own folder ${a.cwd})`, detail: { title: a.title } });
        return;
      }
      if (dialog) {
        this.gate.done(a); // it waits for a person, not for the CPU: the next agent may start
        if (activity !== "waiting") setActivity(this.deps.db, a.id, "waiting", dialog.what);
        const first = screenQuote(dialog, pane, h.noise);
        if (dialog.kind === "error") this.raise(a, "dialog:error", "stuck_detected", `${a.role} ${a.title} cannot work: ${dialog.what}${first ? ` — "${first}"` : ""} (fix the cause, then: kas task retry ${a.task}; look: kas agent capture ${a.title})`, { pane: lastPaneLines(pane, 20) });
        else this.raise(a, `dialog:${dialog.kind}`, "agent_waiting", `${a.role} ${a.title} is waiting: ${dialog.what}${first ? ` — "${first}"` : ""} (answer it with \`kas agent send ${a.title} …\` or attach: tmux -L ${this.deps.tmux.socketName} attach -t ${s.name})`, { pane: lastPaneLines(pane, 20) });
        return;
      }
      if (!h.reportsTurns && activity !== "working") {
        this.gate.done(a); // a CLI without reports: its first screen is the sign it is up
        setActivity(this.deps.db, a.id, "working", "");
        activity = "working";
      }

    }
    if (!h.reportsTurns && activity === "working" && !changed && s.activityAt > 0 && now / 1000 - s.activityAt >= sup.idle_after_sec) {
      setActivity(this.deps.db, a.id, "idle", `no output for ${sup.idle_after_sec} s`);
      return; // reacted to on the next look, like a reported turn end
    }
    if (h.reportsTurns && activity === "starting" && now - since >= sup.start_timeout_sec * 1000) {
      const first = firstMeaningfulLine(lastPaneLines(await this.paneText(a), 20), h.noise);
      this.raise(a, "start-timeout", "stuck_detected", `${a.role} ${a.title} shows no sign of work after ${sup.start_timeout_sec} s${first ? `: "${first}"` : ""} (look: kas agent capture ${a.title}; restart: kas agent restart ${a.title})`);
      return;
    }
    if (activity === "waiting") {
      const pane = lastPaneLines(await this.paneText(a), 20);
      const first = a.activityNote || firstMeaningfulLine(pane, h.noise);
      this.raise(a, `waiting:${a.activityAt ?? ""}`, "agent_waiting", `${a.role} ${a.title} is waiting for input: ${first} (answer: kas agent send ${a.title} '…'; look: kas agent capture ${a.title})`, { pane });
      return;
    }
    if (activity === "idle" && now - since >= sup.nudge_after_sec * 1000) await this.nudgeOrRaise(a);
  }

  /** Its turn ended and its task still expects it: it has not emitted its signal. */
  private async nudgeOrRaise(a: AgentRow): Promise<void> {
    const sup = this.deps.config().supervision;
    if (a.nudges < sup.nudges) {
      const text = nudgeText(this.promptOf(a));
      try {
        await this.deps.tmux.sendText(sessionTitleOf(a), text);
      } catch (err) {
        this.deps.log.warn(`nudge ${a.title}: ${(err as Error).message}`);
        return;
      }
      writeTx(this.deps.db, () => {
        addNudge(this.deps.db, a.id);
        recordAudit(this.deps.db, { kind: "agent_nudged", project: a.project, task: a.task, message: `${a.role} ${a.title} ended its turn without its signal: reminded (${a.nudges + 1}/${sup.nudges})`, detail: { title: a.title, text } });
      });
      this.deps.log.info(`${a.project}/${a.task}: nudged ${a.title} (${a.nudges + 1}/${sup.nudges})`);
      this.deps.hub.pump();
      return;
    }
    this.raise(a, `idle:${a.nudges}`, "stuck_detected", `${a.role} ${a.title} ended its turn without its signal${sup.nudges > 0 ? ` (reminded ${a.nudges} time${a.nudges === 1 ? "" : "s"})` : ""}: look with kas agent capture ${a.title}, then kas agent send ${a.title} '…' or kas agent restart ${a.title}`);
  }

  /** A report from the agent's own CLI (hooks, notify): its activity now. */
  onReport(ev: AgentEventBody): { activity: string } | null {
    const a = liveAgentByTitle(this.deps.db, ev.project, ev.title);
    if (!a) return null;
    const read = activityFromEvent(ev.cli, ev.event, ev.payload);
    if (read === null) return { activity: "" };
    setActivity(this.deps.db, a.id, read.activity, read.note);
    if (read.activity !== "starting") this.gate.done(a); // it is up: the next agent may start
    if (read.stall) this.pauses.onStall(a, ev.cli, read.stall);
    // Tokens are in the CLI's records by each report (a tool about to run, a turn ended): budgets act on them.
    this.usage.onReport(a, ev);
    if (read.activity === "waiting") recordAudit(this.deps.db, { kind: "agent_waiting", project: a.project, task: a.task, message: `${a.role} ${a.title}: ${read.note || "waiting for input"}`, detail: { title: a.title, event: ev.event } });
    // A person is needed: say so now. Everything else (a nudge after nudge_after_sec, stopping a finished
    // agent) waits for the next timer pass — a pass per hook report would delay signals (12 reports/s
    // from 40 agents measured +6 ms on the signal p99).
    if (read.activity === "waiting") this.deps.kick?.(a.project);
    return { activity: read.activity };
  }
}

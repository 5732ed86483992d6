// Reading what an agent is doing (pure): its CLI's hook events, its pane text, and the reminder kasmos
// types into an agent that ended its turn without its signal.
import { harnessOf } from "./harness/index.ts";
import { resetTimeFrom } from "./harness/reset-time.ts";
import type { ActivityReading, Dialog, Harness, Stall } from "./harness/types.ts";

/** A hook report of the CLI named `cli` → the agent's activity, as that CLI's harness reads it; null = says nothing about it. */
export function activityFromEvent(cli: string, event: string, payload: Record<string, unknown>): ActivityReading | null {
  return harnessOf(cli).activityFromEvent(event, payload);
}

/** The last `n` non-empty lines of a pane, without tmux's "Pane is dead" notice. */
export function lastPaneLines(text: string, n: number): string[] {
  const lines = text
    .split("\n")
    .map((l) => l.replace(/\s+$/, ""))
    .filter((l) => l.trim() !== "" && !/^Pane is dead/.test(l.trim()));
  return lines.slice(-n);
}

/** The first line of `lines` that says something (not a border, banner or prompt of the CLI). */
export function firstMeaningfulLine(lines: readonly string[], noise?: RegExp): string {
  for (const l of lines) {
    const t = l.trim().replace(/^[│┃|>❯⎿\s]+/, "").replace(/[│┃|\s]+$/, "");
    if (t.length < 3) continue;
    if (noise?.test(t) || noise?.test(l)) continue;
    return t.length > 300 ? `${t.slice(0, 297)}...` : t;
  }
  return "";
}

/** The line an attention item quotes for a screen: for an error, the line naming it; else the first that says something. */
export function screenQuote(d: Dialog, pane: string, noise?: RegExp): string {
  const lines = lastPaneLines(pane, 30);
  const flags = d.pattern.flags.replace("g", "");
  const hit = d.kind === "error" ? lines.find((l) => new RegExp(d.pattern.source, flags).test(l)) : undefined;
  return hit ? firstMeaningfulLine([hit.replace(/^\s*[■✗×!]\s*/, "")]) : firstMeaningfulLine(lines.slice(-20), noise);
}

/** What `kas agent capture --lines N` shows: the last N lines that say something, runs of blank lines squeezed to one. */
export function lastLinesOf(text: string, n: number): string {
  const lines = text.split("\n").map((l) => l.replace(/\s+$/, ""));
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const out: string[] = [];
  let kept = 0;
  for (let i = lines.length - 1; i >= 0 && kept < n; i--) {
    if (lines[i] === "") {
      if (out[0] !== "") out.unshift("");
      continue;
    }
    out.unshift(lines[i]!);
    kept++;
  }
  while (out[0] === "") out.shift();
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}

/** The first blocking screen of the harness the pane shows (only the bottom of the pane counts). */
export function matchDialog(h: Harness, pane: string): Dialog | null {
  const bottom = lastPaneLines(pane, 30).join("\n");
  for (const d of h.dialogs) if (d.pattern.test(bottom)) return d;
  return null;
}

/** The first line of every message kasmos types into an agent (nudges, continues) starts so. */
export const KASMOS_TYPED = /^\W{0,6}kasmos: /;

/**
 * The stall the pane shows (the provider refusing the agent: a limit, an outage, a rejected login), read
 * from the bottom: the lowest line one of the harness's stall patterns matches, with the wrapped lines
 * under it (the reset time may sit there), below the last message kasmos typed in. Retrying when that
 * line, or one of the three above it, shows the CLI's own retry in progress. Only the bottom of the pane counts; a caller asks only of an agent
 * that is not working (an old error scrolled up above new work says nothing).
 */
export function stallFromPane(h: Harness, pane: string, now: number = Date.now()): Stall | null {
  const patterns = h.stalls ?? [];
  if (patterns.length === 0) return null;
  const lines = lastPaneLines(pane, 30);
  // What kasmos typed in (a nudge, a continue) closes what came before: a stall above it is an old one.
  const typed = lines.findLastIndex((l) => KASMOS_TYPED.test(l));
  for (let i = lines.length - 1; i > typed; i--) {
    const hit = patterns.find((p) => p.pattern.test(lines[i]!));
    if (!hit) continue;
    const wrapped: string[] = [];
    for (const l of lines.slice(i + 1, i + 4)) {
      if (!/^\s{2,}\S/.test(l) || /^\s*[›❯>─━│┃⏵]/.test(l)) break;
      wrapped.push(l.trim());
    }
    // A wide gap ends the line's text: a TUI's side column (opencode's "$0.00 spent") is not part of it.
    const text = (l: string) => l.trim().split(/\s{8,}/)[0]!;
    const note = [text(lines[i]!).replace(/^[■✻✽✶✳✢●◦└⎿·*┃│⬝\s]+/, ""), ...wrapped.map(text)].join(" ");
    const retrying = hit.retrying === true || lines.slice(Math.max(0, i - 3), i).some((l) => patterns.some((p) => p.retrying === true && p.pattern.test(l)));
    return { reason: hit.reason, resetAt: resetTimeFrom(note, now), retrying, note: note.length > 500 ? `${note.slice(0, 497)}...` : note };
  }
  return null;
}

/** The Finish section's commands of a kasmos prompt (indented by four spaces, comments dropped). */
export function finishCommands(prompt: string): string[] {
  const lines = prompt.split("\n");
  const start = lines.findIndex((l) => l.startsWith("## Finish"));
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.startsWith("## ")) break;
    if (l.startsWith("    ") && !l.trim().startsWith("#")) out.push(l.trim());
  }
  return out;
}

/** The reminder typed into an agent whose turn ended without its signal: one line, naming the exact command. */
export function nudgeText(prompt: string): string {
  const cmds = finishCommands(prompt);
  const signal = cmds.length === 0 ? "the command of the Finish section of your prompt file" : cmds.length === 1 ? `\`${cmds[0]}\`` : cmds.map((c) => `\`${c}\``).join(" or ");
  return `kasmos: your turn ended but kasmos has not received your completion signal. If your work is complete and committed, run ${signal} now, as the Finish section of your prompt says; if it is not complete, finish it first, then signal.`;
}

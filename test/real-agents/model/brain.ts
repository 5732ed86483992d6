// The "model" the loopback model servers play for the real agent CLIs (claude, codex, opencode).
// Pure and stateless: the next step follows from the conversation so far (every request carries the
// whole conversation), so one brain serves every wire API. It does what a careful agent does with a
// kasmos prompt: read the prompt file with the CLI's read tool, then run the prompt's Finish commands
// (plus the work they presuppose: write the plan, commit a file) with the CLI's shell tool, one per
// turn, then end its turn with a short text.
import { readFileSync } from "node:fs";

/** What the conversation holds, in order, as the wire adapter decoded it. */
export type TurnEvent = { kind: "user"; text: string } | { kind: "tool_result"; text: string } | { kind: "assistant"; text: string };

export type Step = { kind: "read"; path: string } | { kind: "shell"; command: string } | { kind: "text"; text: string };

/** Per-agent behaviour knobs, looked up by the agent's role (planner, coder, …) or exact title. */
export interface AgentScript {
  /** End the first turn without the final signal command (it runs after the next user message, e.g. a nudge). */
  silentFirstTurn?: boolean;
  /** Never run the signal command, whatever the user says (an agent that ignores reminders). */
  neverSignal?: boolean;
  /** Review rounds ≤ N request changes (reviewer only). */
  reviewChangesRounds?: number;
  /** Shell commands run before the work (what a prompt injection might ask: `cat ~/.ssh/id_ed25519`). */
  probe?: string[];
}

export interface Scenario {
  /** Plan markdown the planner writes and stores. */
  plan: string;
  /** Knobs by role or by task name ("*" = every agent). */
  scripts?: Record<string, AgentScript>;
}

export const POINTER = /Read the file (\S+?) and follow its instructions/;

/** The prompt file as written by kasmos (the servers read it from disk: CLIs number lines in tool output). */
export function readPromptFile(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** The prompt file path the CLI was started with (the first user message points at it). */
export function promptPointer(events: readonly TurnEvent[]): string | null {
  for (const e of events) {
    if (e.kind !== "user") continue;
    const m = POINTER.exec(e.text);
    if (m?.[1]) return m[1];
  }
  return null;
}

function sq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function section(prompt: string, title: string): string[] {
  const lines = prompt.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`## ${title}`));
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.startsWith("## ")) break;
    out.push(l);
  }
  return out;
}

function finishCommands(prompt: string): string[] {
  return section(prompt, "Finish")
    .filter((l) => l.startsWith("    "))
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

function block(prompt: string, tag: string): string {
  const m = new RegExp(`<${tag}>\\n([\\s\\S]*?)\\n</${tag}>`).exec(prompt);
  return m?.[1] ?? "";
}

const GIT = "git -c user.name=model -c user.email=model@loopback.test";

/** Commit one file, retrying while a peer holds the worktree's index.lock. */
function commitFile(file: string, text: string, message: string): string {
  return `printf '%s\\n' ${sq(text)} > ${sq(file)} && for i in 1 2 3 4 5 6 7 8 9 10; do ${GIT} add ${sq(file)} && ${GIT} commit -q -m ${sq(message)} -- ${sq(file)} && break; sleep 0.5; done && git log --oneline -1`;
}

export interface Plan {
  role: string;
  /** Work commands, then the signal command (last). */
  commands: string[];
}

/** The commands an agent runs for a kasmos prompt. */
export function planFor(prompt: string, scenario: Scenario): Plan {
  const role = /You are (?:the|a) (\w+) agent/.exec(prompt)?.[1] ?? "unknown";
  const task = /^- Task: (.+)$/m.exec(prompt)?.[1] ?? "task";
  const cwd = /Run from (\S+?):$/m.exec(prompt)?.[1] ?? ".";
  const script = { ...scenario.scripts?.["*"], ...scenario.scripts?.[role], ...scenario.scripts?.[task] };
  const fin = finishCommands(prompt);
  const cd = `cd ${sq(cwd)} && `;
  const work: string[] = [];
  let signal: string[] = fin;
  switch (role) {
    case "planner":
    case "architect": {
      const draft = /Write the (?:elaborated )?plan to (\S+?), store it/.exec(prompt)?.[1] ?? `.kasmos/plan-${task}.md`;
      const plan = role === "planner" ? scenario.plan : block(prompt, "plan") || scenario.plan;
      work.push(`${cd}mkdir -p "$(dirname ${sq(draft)})" && cat > ${sq(draft)} <<'PLAN_EOF'\n${plan.trimEnd()}\nPLAN_EOF`);
      break;
    }
    case "coder": {
      const wave = /implement task (\d+) of wave (\d+)/.exec(prompt);
      const file = wave ? `w${wave[2]}-t${wave[1]}.txt` : "implementation.txt";
      work.push(cd + commitFile(file, `work of ${file}`, wave ? `task ${wave[1]}: ${file}` : "implement the plan"));
      break;
    }
    case "fixer": {
      const round = /fix round: (\d+)/.exec(prompt)?.[1] ?? "1";
      work.push(cd + commitFile(`fix-${round}.txt`, `fix round ${round}`, `fix round ${round}`));
      break;
    }
    case "reviewer": {
      const round = Number(/review round (\d+)/.exec(prompt)?.[1] ?? "1");
      const approve = fin.find((c) => c.includes("Approved. <one sentence>")) ?? "";
      const move = fin.find((c) => c.startsWith("mv ")) ?? "";
      if (round <= (script.reviewChangesRounds ?? 0)) {
        const tmp = /^mv (\S+) /.exec(move)?.[1] ?? "";
        signal = [`mkdir -p .kasmos/signals && printf '%s\\n' ${sq(`Review round ${round}: handle the empty input in w1-t1.txt`)} > ${tmp} && ${move}`];
      } else signal = [approve.replace("<one sentence>", "The plan is implemented and tested")];
      break;
    }
    case "master": {
      const approve = fin.find((c) => c.includes("verify_approved")) ?? "";
      const cmd = approve.replace("<one-line summary>", "ready to merge");
      signal = [cmd.includes("<output of git rev-parse HEAD>") ? `H=$(git rev-parse HEAD) && ${cmd.replace("<output of git rev-parse HEAD>", `'"$H"'`)}` : cmd];
      break;
    }
    default:
      break;
  }
  return { role, commands: [...(script.probe ?? []), ...work, ...signal.map((c) => cd + c)] };
}

/**
 * The next step. Tool results after the read are the outputs of the plan's commands, one each;
 * `silentFirstTurn` stops before the last (signal) command until a later user message arrives.
 */
export function nextStep(events: readonly TurnEvent[], scenario: Scenario, readPrompt: (path: string) => string | null = () => null): Step {
  const pointer = promptPointer(events);
  if (pointer === null) return { kind: "text", text: "OK." };
  const firstUser = events.findIndex((e) => e.kind === "user" && POINTER.test(e.text));
  const after = events.slice(firstUser + 1);
  const results = after.filter((e) => e.kind === "tool_result");
  if (results.length === 0) return { kind: "read", path: pointer };
  // The prompt as the read tool returned it; CLIs number lines ("   1→…", "1\t…"), so prefer the file.
  const prompt = readPrompt(pointer) ?? stripLineNumbers(results[0]?.text ?? "");
  const plan = planFor(prompt, scenario);
  const task = /^- Task: (.+)$/m.exec(prompt)?.[1] ?? "";
  const script = { ...scenario.scripts?.["*"], ...scenario.scripts?.[plan.role], ...scenario.scripts?.[task] };
  const done = results.length - 1;
  const laterUser = after.some((e) => e.kind === "user" && e.text.trim() !== "");
  const limit = script.neverSignal || (script.silentFirstTurn && !laterUser) ? plan.commands.length - 1 : plan.commands.length;
  const command = plan.commands[done];
  if (done < limit && command !== undefined) return { kind: "shell", command };
  return { kind: "text", text: done >= plan.commands.length ? "Done: the work is committed and the signal was emitted." : "I have finished the work." };
}

export function stripLineNumbers(text: string): string {
  return text
    .split("\n")
    .map((l) => l.replace(/^\s*\d+(?:→|\t)/, ""))
    .join("\n");
}

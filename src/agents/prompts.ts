// First prompt of every agent spawn.
// Pure and deterministic: same input → same text (no dates, no env). Every prompt says what the job is,
// its limits, the material, and exactly which signal ends it — as the last action.
import { extractMetadata, headerContext, parsePlan, taskCount } from "../lifecycle/plan-parser.ts";

export interface PromptCommon {
  project: string;
  /** Task name (signal slug), e.g. `login-throttle`. */
  task: string;
  /** Repository root (planner and architect work here). */
  repoPath: string;
  /** Task worktree (coder, reviewer, fixer and master work here). */
  worktreePath: string;
  branch: string;
  description: string;
  /**
   * How the prompt names the kasmos CLI (default "kasmos"). The daemon gives its own absolute path:
   * some CLIs run commands in a login shell whose /etc/profile resets PATH (codex).
   */
  kasmosBin?: string;
}

export interface PlannerPrompt extends PromptCommon {
  role: "planner";
  /** Extra guidance from the operator (e.g. an API caller's prompt). */
  planHints?: string;
}

export interface ArchitectPrompt extends PromptCommon {
  role: "architect";
  plan: string;
}

/** Blueprint-skip coder: one agent implements every task of the plan. */
export interface SingleCoderPrompt extends PromptCommon {
  role: "coder";
  mode: "single";
  plan: string;
}

/** One task of a wave; peers implement the wave's other tasks at the same time. */
export interface WaveCoderPrompt extends PromptCommon {
  role: "coder";
  mode: "wave";
  waveNumber: number;
  /** Global task number (the parser renumbers tasks 1..N across waves). */
  taskNumber: number;
  taskTitle: string;
  taskBody: string;
  /** Number of OTHER agents working on this wave concurrently (0 = alone). */
  peers: number;
  /** The plan's `**Goal:**`/`**Architecture:**`/`**Tech Stack:**` lines (plan-parser `headerContext`). */
  headerContext: string;
}

export interface ReviewerPrompt extends PromptCommon {
  role: "reviewer";
  round: number;
  /** Feedback of the previous round, "" on the first round. */
  previousFeedback: string;
  plan: string;
}

export interface FixerPrompt extends PromptCommon {
  role: "fixer";
  round: number;
  feedback: string;
}

export interface MasterPrompt extends PromptCommon {
  role: "master";
  round: number;
  /** Merge-base of the branch, "" when it could not be resolved. */
  baseSha: string;
  /** Branch HEAD at spawn time: what `reviewed_sha` must name unless the master commits self-fixes. */
  headSha: string;
  selfFixMaxLines: number;
  maxVerifyCycles: number;
  verifyCycle: number;
  /** The plan, when available (gives the master the goal to judge against). */
  plan?: string;
}

export type CoderPrompt = SingleCoderPrompt | WaveCoderPrompt;
export type PromptInput = PlannerPrompt | ArchitectPrompt | CoderPrompt | ReviewerPrompt | FixerPrompt | MasterPrompt;

export const SIGNALS_DIR = ".kasmos/signals";

/** File-signal names agents create (grammar: src/signals/grammar.ts). */
export const signalNames = {
  plannerFinished: (task: string): string => `planner-finished-${task}`,
  elaboratorFinished: (task: string): string => `elaborator-finished-${task}`,
  implementFinished: (task: string): string => `implement-finished-${task}`,
  taskFinished: (wave: number, taskNumber: number, task: string): string => `implement-task-finished-w${wave}-t${taskNumber}-${task}`,
  reviewApproved: (task: string): string => `review-approved-${task}`,
  reviewChanges: (task: string): string => `review-changes-${task}`,
} as const;

/** Where the planner and the architect write the plan before storing it. */
export function planDraftPath(task: string): string {
  return `.kasmos/cache/${task}-plan.md`;
}

// ---------------------------------------------------------------------------------------------------

/** Quote a word for a POSIX shell command line shown to the agent (bare when it needs no quoting). */
function sh(word: string): string {
  return /^[A-Za-z0-9._\/:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function int(n: number, name: string, min: number): number {
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`${name} must be a whole number ≥ ${min}, got ${String(n)}`);
  return n;
}

function block(tag: string, text: string): string {
  return `<${tag}>\n${text.trim()}\n</${tag}>`;
}

function section(title: string, lines: readonly string[]): string {
  return `## ${title}\n${lines.join("\n")}`;
}

function taskSection(p: PromptCommon, cwd: string, withBranch: boolean): string {
  const lines = [`- Project: ${p.project}`, `- Task: ${p.task}`, `- Working directory: ${cwd}`];
  if (withBranch && p.branch.trim() !== "") lines.push(`- Branch: ${p.branch}`);
  const desc = p.description.trim();
  lines.push(desc === "" ? "- Description: (none given)" : `- Description:\n${block("description", desc)}`);
  return section("Task", lines);
}

const LAST_ACTION =
  "The signal is your LAST action: emit it exactly once, only when the work above is complete, then stop — " +
  "no further edits, commits or commands.";
const FILE_RULES = `Write the signal file in one step (never create it empty and fill it later). Create no other files in ${SIGNALS_DIR}/ and never commit anything under .kasmos/.`;

function touchSignal(name: string): string {
  return `mkdir -p ${SIGNALS_DIR} && touch ${SIGNALS_DIR}/${sh(name)}`;
}

function finish(cwd: string, what: string, commands: readonly string[], extra: readonly string[] = [], viaFile = true): string {
  const rules = viaFile ? [LAST_ACTION, FILE_RULES] : [LAST_ACTION];
  return section("Finish", [`${what} Run from ${cwd}:`, "", ...commands.map((c) => `    ${c}`), "", ...extra, ...rules]);
}

function planContext(plan: string): string {
  return headerContext(extractMetadata(plan));
}

function contextSection(header: string): string | null {
  return header.trim() === "" ? null : section("Plan context", [header.trim()]);
}

function join(parts: readonly (string | null)[]): string {
  return `${parts.filter((p): p is string => p !== null).join("\n\n")}\n`;
}

const PLAN_FORMAT = [
  "Plan format (it is parsed; headings outside this grammar are rejected):",
  "- `# <Feature> Implementation Plan`, then `**Goal:** …`, `**Architecture:** …`, `**Tech Stack:** …` lines.",
  "- Waves: `## Wave 1: <title>`, `## Wave 2: <title>`, … numbered 1, 2, 3 in order, each with at least one task.",
  "- Tasks: `### Task <N>: <title>` inside a wave; the body lists **Files:** (create/modify/test) and numbered steps, tests first.",
  "- Tasks in the same wave run in parallel, each by its own agent in the same worktree: they must not depend on each other",
  "  or edit the same files. Use a later wave only for a real dependency and start it with `> **depends on wave N:** …`.",
];

function storePlanCommands(task: string, bin: string): string[] {
  return [`${bin} task plan ${sh(task)} --file ${sh(planDraftPath(task))}`];
}

function kasmosWord(p: PromptCommon): string {
  return p.kasmosBin ? sh(p.kasmosBin) : "kasmos";
}

// ---------------------------------------------------------------------------------------------------

function plannerPrompt(p: PlannerPrompt): string {
  const cwd = p.repoPath;
  const hints = p.planHints?.trim() ?? "";
  return join([
    `You are the planner agent for task "${p.task}" in project "${p.project}", run unattended by kasmos.`,
    taskSection(p, cwd, false),
    hints === "" ? null : section("Operator hints", [block("hints", hints)]),
    section("Job", [
      "Study the repository and write an implementation plan for the task that other agents can execute without asking questions.",
      ...PLAN_FORMAT,
    ]),
    section("Limits", ["- Plan only: do not change source files, do not commit, do not create branches."]),
    finish(
      cwd,
      `Write the plan to ${planDraftPath(p.task)}, store it, and when the store command prints "plan stored", signal completion.`,
      [...storePlanCommands(p.task, kasmosWord(p)), touchSignal(signalNames.plannerFinished(p.task))],
      ["If storing reports a parse error, fix the plan file and run the store command again before signalling."],
    ),
  ]);
}

function architectPrompt(p: ArchitectPrompt): string {
  const cwd = p.repoPath;
  return join([
    `You are the architect agent for task "${p.task}" in project "${p.project}", run unattended by kasmos.`,
    taskSection(p, cwd, false),
    contextSection(planContext(p.plan)),
    section("Job", [
      "Elaborate the plan below so that each task can be implemented by an agent that sees only that task and the plan context:",
      "name the exact files, functions/types and signatures, the tests to write first, and the steps. Check every claim against the code.",
      "Keep the wave/task headings, order and titles; change the structure only when a task in a wave really depends on another task of the same wave.",
      ...PLAN_FORMAT,
    ]),
    section("Limits", ["- Design only: do not change source files, do not commit."]),
    section("Plan", [block("plan", p.plan)]),
    finish(
      cwd,
      `Write the elaborated plan to ${planDraftPath(p.task)}, store it, and when the store command prints "plan stored", signal completion.`,
      [...storePlanCommands(p.task, kasmosWord(p)), touchSignal(signalNames.elaboratorFinished(p.task))],
      ["If storing reports a parse error, fix the plan file and run the store command again before signalling."],
    ),
  ]);
}

function singleCoderPrompt(p: SingleCoderPrompt): string {
  const cwd = p.worktreePath;
  const parsed = parsePlan(p.plan);
  const n = parsed.ok ? taskCount(parsed.plan) : 0;
  const what = n > 0 ? `all ${n} task(s)` : "every task";
  return join([
    `You are the coder agent for task "${p.task}" in project "${p.project}", run unattended by kasmos.`,
    taskSection(p, cwd, true),
    contextSection(planContext(p.plan)),
    section("Job", [
      `Implement ${what} of the plan below, in order (wave by wave, task by task). For each task: write the tests first, make them pass,`,
      `run the project's test suite, and commit on branch ${p.branch} with a message naming the task.`,
    ]),
    section("Limits", [
      "- Implement what the plan asks, no unrelated refactors or features.",
      "- Leave the working tree clean: everything you changed is committed before you signal.",
    ]),
    section("Plan", [block("plan", p.plan)]),
    finish(cwd, "When every task is implemented, tested and committed, signal completion.", [touchSignal(signalNames.implementFinished(p.task))]),
  ]);
}

function waveCoderPrompt(p: WaveCoderPrompt): string {
  const cwd = p.worktreePath;
  const wave = int(p.waveNumber, "waveNumber", 1);
  const num = int(p.taskNumber, "taskNumber", 1);
  const peers = int(p.peers, "peers", 0);
  const peerLine =
    peers === 0
      ? "- You are the only agent in this wave."
      : `- ${peers} other agent(s) implement the other tasks of wave ${wave} in this same worktree right now: touch only the files your task needs, never revert, reformat or stash their changes, and commit only your own files (\`git add <paths>\`, never \`git add -A\` or \`git commit -a\`); if git reports that index.lock exists, wait a few seconds and retry.`;
  const body = p.taskBody.trim();
  return join([
    `You are a coder agent for task "${p.task}" in project "${p.project}", run unattended by kasmos: you implement task ${num} of wave ${wave}.`,
    taskSection(p, cwd, true),
    contextSection(p.headerContext),
    section("Job", [
      `Implement task ${num} ("${p.taskTitle.trim()}") below: write the tests first, make them pass, run the relevant tests,`,
      `and commit your work on branch ${p.branch} with a message naming task ${num}.`,
    ]),
    section("Limits", ["- Only this task: other tasks of the plan belong to other agents or later waves.", peerLine]),
    section(`Wave ${wave}, task ${num}: ${p.taskTitle.trim()}`, [body === "" ? "(no further details)" : block("task", body)]),
    finish(cwd, "When your task is implemented, tested and committed, signal completion.", [
      touchSignal(signalNames.taskFinished(wave, num, p.task)),
    ]),
  ]);
}

function reviewerPrompt(p: ReviewerPrompt): string {
  const cwd = p.worktreePath;
  const round = int(p.round, "round", 1);
  const prev = p.previousFeedback.trim();
  const approved = signalNames.reviewApproved(p.task);
  const changes = signalNames.reviewChanges(p.task);
  const tmp = `${SIGNALS_DIR}/.${changes}.tmp`;
  return join([
    `You are the reviewer agent for task "${p.task}" in project "${p.project}", run unattended by kasmos. This is review round ${round}.`,
    taskSection(p, cwd, true),
    contextSection(planContext(p.plan)),
    section("Job", [
      `Review the changes on branch ${p.branch} (git log / git diff since the branch left its base) against the plan below:`,
      "does the code do what each task asks, are there tests and do they pass (run them), are there bugs, regressions or security problems?",
      prev === "" ? "This is the first round: there is no previous feedback." : "Check first that every finding of the previous round is resolved.",
    ]),
    section("Limits", [
      "- You review; you do not change code, commit, or rewrite history.",
      "- Request changes only for real problems (failing tests, bugs, missing plan requirements), not for taste.",
    ]),
    prev === "" ? null : section("Previous feedback", [block("feedback", prev)]),
    section("Plan", [block("plan", p.plan)]),
    finish(
      cwd,
      "Signal your verdict with exactly one of the two options.",
      [
        `# approve (body: "Approved. " plus one sentence without single quotes):`,
        `mkdir -p ${SIGNALS_DIR} && printf '%s' 'Approved. <one sentence>' > ${SIGNALS_DIR}/${sh(approved)}`,
        `# or request changes: write the feedback to ${tmp}, then move it into place in one step:`,
        `mv ${sh(tmp)} ${SIGNALS_DIR}/${sh(changes)}`,
      ],
      [
        `Changes feedback format: "Review round ${round}", acceptance criteria (pass/fail per task), findings grouped as`,
        "critical / important / minor, each with `file:line` and the expected fix, then a one-line verdict.",
      ],
    ),
  ]);
}

function fixerPrompt(p: FixerPrompt): string {
  const cwd = p.worktreePath;
  const round = int(p.round, "round", 1);
  const feedback = p.feedback.trim();
  return join([
    `You are the fixer agent for task "${p.task}" in project "${p.project}", run unattended by kasmos. Current fix round: ${round}.`,
    taskSection(p, cwd, true),
    section("Job", [
      "Address the reviewer feedback below: fix each finding, add or adjust tests that prove the fix, run the test suite,",
      `and commit on branch ${p.branch} with a message naming fix round ${round}.`,
    ]),
    section("Limits", [
      "- You are not an implementer: change only what the findings require. No new features, no unrelated refactors, no plan changes.",
      "- If a finding is wrong, leave the code as is and say why in the commit message.",
      "- Leave the working tree clean: everything you changed is committed before you signal.",
    ]),
    section(`Feedback (round ${round})`, [feedback === "" ? "(the reviewer gave no details: re-run the tests and fix any failure)" : block("feedback", feedback)]),
    finish(cwd, "When every finding is addressed and committed, signal completion.", [touchSignal(signalNames.implementFinished(p.task))]),
  ]);
}

function masterPrompt(p: MasterPrompt): string {
  const cwd = p.worktreePath;
  const round = int(p.round, "round", 1);
  const maxLines = int(p.selfFixMaxLines, "selfFixMaxLines", 1);
  const maxCycles = int(p.maxVerifyCycles, "maxVerifyCycles", 1);
  const cycle = int(p.verifyCycle, "verifyCycle", 1);
  const head = p.headSha.trim();
  const base = p.baseSha.trim();
  const headRef = head === "" ? "<output of git rev-parse HEAD>" : head;
  const range = base !== "" && head !== "" ? `${base}..${head}` : "";
  const plan = p.plan?.trim() ?? "";
  const task = sh(p.task);
  return join([
    `You are the master agent for task "${p.task}" in project "${p.project}", run unattended by kasmos: the final readiness review before a PR (review round ${round}).`,
    taskSection(p, cwd, true),
    plan === "" ? null : contextSection(planContext(plan)),
    section("Commits under review", [
      range !== ""
        ? `Commit range ${range} (inspect with \`git log --oneline ${range}\` and \`git diff ${range}\`).`
        : `The merge-base could not be resolved: review the commits of branch ${p.branch} that are not on its base branch.`,
      head === "" ? "Determine the reviewed commit with `git rev-parse HEAD`." : `Reviewed commit (branch HEAD): ${head}.`,
    ]),
    section("Job", [
      "Judge holistically whether the branch is ready to merge: it fulfils the task, tests pass (run them), no bugs, leftovers or debug code,",
      "and the pieces built by different agents fit together.",
      `This is verification cycle ${cycle} of at most ${maxCycles}.`,
      cycle >= maxCycles
        ? "This is the last cycle: fail only for blocking problems; note minor issues in the approval body instead."
        : "Fail for any problem that should be fixed before merging.",
    ]),
    section("Limits", [
      `- You may self-fix small problems yourself, at most ${maxLines} changed lines in total (insertions + deletions per \`git diff --shortstat\`), committed on branch ${p.branch}.`,
      "- Anything larger is a failure for the fixer: describe it, do not implement it.",
      "- Never emit review_approved or review_changes signals and never create signal files: use only the commands below.",
    ]),
    plan === "" ? null : section("Plan", [block("plan", plan)]),
    finish(
      cwd,
      "Emit exactly one verdict.",
      [
        `${kasmosWord(p)} signal emit verify_approved ${task} --payload '{"reviewed_sha":"${headRef}","body":"<one-line summary>"}'`,
        `${kasmosWord(p)} signal emit verify_failed ${task} --payload '{"reviewed_sha":"${headRef}","body":"<findings>"}'`,
      ],
      [
        `reviewed_sha must be the branch HEAD you reviewed${head === "" ? "" : ` (${head})`}; if you committed self-fixes, use \`git rev-parse HEAD\` after your last commit instead.`,
        "The body is a JSON string: one line, \\n for line breaks, \\\" for double quotes, no single quotes. Failure findings: severity, `file:line`, expected fix.",
      ],
      false,
    ),
  ]);
}

export function buildPrompt(input: PromptInput): string {
  switch (input.role) {
    case "planner":
      return plannerPrompt(input);
    case "architect":
      return architectPrompt(input);
    case "coder":
      return input.mode === "single" ? singleCoderPrompt(input) : waveCoderPrompt(input);
    case "reviewer":
      return reviewerPrompt(input);
    case "fixer":
      return fixerPrompt(input);
    case "master":
      return masterPrompt(input);
    default: {
      const never: never = input;
      return never;
    }
  }
}

// Plan markdown grammar. Pure: no I/O.
//
// Stricter than the reference on purpose: a plan that reaches implementation must be unambiguous, so
// headings that *look* like waves/tasks but miss the grammar are errors (the reference silently
// ignored them and lost tasks), as are tasks before the first wave, empty waves, and waves that are
// duplicated or not numbered 1, 2, 3… in order (the wave orchestrator addresses waves by number).
// Headings inside fenced code blocks are text, so plans may quote markdown examples.

export interface PlanMetadata {
  goal: string;
  architecture: string;
  techStack: string;
}

export interface PlanTask {
  /** Global 1-based number in document order (written numbers are discarded). */
  number: number;
  title: string;
  body: string;
}

export interface PlanWave {
  number: number;
  title: string;
  tasks: PlanTask[];
}

export interface ParsedPlan extends PlanMetadata {
  waves: PlanWave[];
}

export type ParsePlanResult = { ok: true; plan: ParsedPlan; warnings: string[] } | { ok: false; error: string };

export const NO_WAVE_HEADERS = "no wave headers found in plan; add ## Wave N sections before implementing";
export const EMPTY_PLAN = "empty plan content";

const SEP = ":\u2014\u2013-"; // colon, em dash, en dash, hyphen
const WAVE_RE = /^#{2,3} Wave (\d+)(.*)$/;
const WAVE_REST_RE = new RegExp(`^(?:$|[\\s${SEP}])`);
const WAVE_TITLE_STRIP_RE = new RegExp(`^[\\s${SEP}]+`);
const TASK_RE = new RegExp(`^#{3,4} Task (\\d+)[ \\t]*[${SEP}]+[ \\t]*(\\S.*)$`);
const WAVE_LIKE_RE = /^(#{1,3})\s*wave\b/i;
const TASK_LIKE_RE = /^(#{2,4})\s*task\b(.*)$/i;
const FENCE_RE = /^ {0,3}(`{3,}|~{3,})/;

type LineKind =
  | { kind: "wave"; number: number; title: string }
  | { kind: "task"; title: string; written: number }
  | { kind: "near_miss"; error: string }
  | { kind: "text" };

function splitLines(md: string): string[] {
  // A byte-order mark (some editors write one) would hide the first heading.
  return md.replace(/^\uFEFF/, "").split(/\r?\n/);
}

/**
 * Yields, for each line, whether it sits outside a fenced code block. A fence closes only with the
 * same character and at least the opening length (CommonMark rule).
 */
function outsideFences(lines: readonly string[]): boolean[] {
  const out: boolean[] = [];
  let open: { ch: string; len: number } | null = null;
  for (const line of lines) {
    const m = FENCE_RE.exec(line);
    if (open === null) {
      if (m?.[1] !== undefined) {
        open = { ch: m[1][0] ?? "`", len: m[1].length };
        out.push(false);
      } else {
        out.push(true);
      }
      continue;
    }
    out.push(false);
    const fence = m?.[1];
    if (fence !== undefined && fence[0] === open.ch && fence.length >= open.len && line.slice(m?.[0].length).trim() === "") open = null;
  }
  return out;
}

function waveNearMissDetail(line: string, hashes: string): string {
  if (hashes.length === 1) return 'wave headings use "##" or "###", not "#"';
  if (!line.startsWith(`${hashes} `) || line.startsWith(`${hashes}  `)) return `put exactly one space after "${hashes}"`;
  if (!line.startsWith(`${hashes} Wave`)) return 'write "Wave" with a capital W';
  if (!/^#{2,3} Wave \d/.test(line)) return 'expected a whole wave number after "Wave " (e.g. "Wave 1")';
  return "the wave number must be followed by the end of the line, a space, or a separator (: — – -)";
}

function taskNearMissDetail(line: string, hashes: string): string {
  if (hashes.length === 2) return 'task headings use "###" or "####", not "##"';
  if (!line.startsWith(`${hashes} `) || line.startsWith(`${hashes}  `)) return `put exactly one space after "${hashes}"`;
  if (!line.startsWith(`${hashes} Task`)) return 'write "Task" with a capital T';
  if (!/^#{3,4} Task \d/.test(line)) return 'expected a whole task number after "Task " (e.g. "Task 1")';
  if (!new RegExp(`^#{3,4} Task \\d+[ \\t]*[${SEP}]`).test(line)) return "expected a separator (: — – -) and a title after the task number";
  return "the task title is empty";
}

/** A "Task …" heading counts as an attempt only if it looks numbered or separated; "### Task list" is prose. */
function looksLikeTaskAttempt(rest: string): boolean {
  const r = rest.trim();
  return r === "" || /^#?\d/.test(r) || new RegExp(`^\\S*[${SEP.replace("-", "")}]`).test(r);
}

function classify(line: string, lineNo: number): LineKind {
  const wave = WAVE_RE.exec(line);
  if (wave?.[1] !== undefined && WAVE_REST_RE.test(wave[2] ?? "")) {
    return { kind: "wave", number: Number(wave[1]), title: (wave[2] ?? "").replace(WAVE_TITLE_STRIP_RE, "").trim() };
  }
  const task = TASK_RE.exec(line);
  if (task?.[2] !== undefined) return { kind: "task", title: task[2].trim(), written: Number(task[1]) };

  const waveLike = WAVE_LIKE_RE.exec(line);
  if (waveLike?.[1] !== undefined) {
    return {
      kind: "near_miss",
      error: `line ${lineNo}: malformed wave heading "${line.trim()}": ${waveNearMissDetail(line, waveLike[1])}; expected "## Wave <N>: <title>"`,
    };
  }
  const taskLike = TASK_LIKE_RE.exec(line);
  if (taskLike?.[1] !== undefined && looksLikeTaskAttempt(taskLike[2] ?? "")) {
    return {
      kind: "near_miss",
      error: `line ${lineNo}: malformed task heading "${line.trim()}": ${taskNearMissDetail(line, taskLike[1])}; expected "### Task <N>: <title>"`,
    };
  }
  return { kind: "text" };
}

const META_KEYS: readonly [keyof PlanMetadata, string][] = [
  ["goal", "**Goal:**"],
  ["architecture", "**Architecture:**"],
  ["techStack", "**Tech Stack:**"],
];

/** Header metadata anywhere in the document (outside code fences); first occurrence wins. Works on drafts. */
export function extractMetadata(md: string): PlanMetadata {
  const meta: PlanMetadata = { goal: "", architecture: "", techStack: "" };
  const seen = new Set<keyof PlanMetadata>();
  const lines = splitLines(md);
  const outside = outsideFences(lines);
  lines.forEach((line, i) => {
    if (!outside[i]) return;
    for (const [key, prefix] of META_KEYS) {
      if (!seen.has(key) && line.startsWith(prefix)) {
        seen.add(key);
        meta[key] = line.slice(prefix.length).trim();
      }
    }
  });
  return meta;
}

/** True when the document has at least one well-formed wave heading (drafts have none). */
export function hasWaveHeaders(md: string): boolean {
  const lines = splitLines(md);
  const outside = outsideFences(lines);
  return lines.some((line, i) => outside[i] === true && classify(line, i + 1).kind === "wave");
}

/** Metadata rendered as prompt context lines (non-empty fields only). */
export function headerContext(meta: PlanMetadata): string {
  return META_KEYS.filter(([key]) => meta[key] !== "")
    .map(([key, prefix]) => `${prefix} ${meta[key]}`)
    .join("\n");
}

interface OpenWave {
  number: number;
  title: string;
  line: number;
  /** `heading` = line index of the task heading; its body starts on the next line. */
  tasks: { title: string; heading: number; written: number }[];
}

export function parsePlan(md: string): ParsePlanResult {
  if (md.trim() === "") return { ok: false, error: EMPTY_PLAN };
  const lines = splitLines(md);
  const outside = outsideFences(lines);

  const waves: PlanWave[] = [];
  const waveLines = new Map<number, number>(); // wave number → heading line
  let current: OpenWave | null = null;
  let nextTaskNumber = 1;
  const warnings: string[] = [];

  // Close the open wave at line index `end` (exclusive): cut task bodies, renumber globally.
  const closeWave = (end: number): string | null => {
    if (current === null) return null;
    const w = current;
    if (w.tasks.length === 0) return `line ${w.line}: wave ${w.number} has no tasks`;
    const tasks = w.tasks.map((t, k) => {
      const stop = w.tasks[k + 1]?.heading ?? end; // body runs to the next task heading or the section end
      const number = nextTaskNumber++;
      if (t.written !== number) warnings.push(`line ${t.heading + 1}: "Task ${t.written}" is task ${number} of the plan (tasks are numbered 1, 2, 3… across waves; renumbered)`);
      return { number, title: t.title, body: lines.slice(t.heading + 1, stop).join("\n").trim() };
    });
    waves.push({ number: w.number, title: w.title, tasks });
    return null;
  };

  for (let i = 0; i < lines.length; i++) {
    if (!outside[i]) continue;
    const lineNo = i + 1;
    const c = classify(lines[i] ?? "", lineNo);
    switch (c.kind) {
      case "text":
        break;
      case "near_miss":
        return { ok: false, error: c.error };
      case "wave": {
        const closeErr = closeWave(i);
        if (closeErr !== null) return { ok: false, error: closeErr };
        const first = waveLines.get(c.number);
        if (first !== undefined) return { ok: false, error: `line ${lineNo}: duplicate wave ${c.number} (already defined on line ${first})` };
        const expected = waves.length + 1;
        if (c.number !== expected) {
          return {
            ok: false,
            error: `line ${lineNo}: wave ${c.number} is out of order; expected wave ${expected} (waves are numbered 1, 2, 3… in document order)`,
          };
        }
        waveLines.set(c.number, lineNo);
        current = { number: c.number, title: c.title, line: lineNo, tasks: [] };
        break;
      }
      case "task":
        if (current === null) return { ok: false, error: `line ${lineNo}: task heading before the first wave` };
        current.tasks.push({ title: c.title, heading: i, written: c.written });
        break;
      default: {
        const never: never = c;
        return never;
      }
    }
  }
  if (current === null) return { ok: false, error: NO_WAVE_HEADERS };
  const closeErr = closeWave(lines.length);
  if (closeErr !== null) return { ok: false, error: closeErr };
  return { ok: true, plan: { ...extractMetadata(md), waves }, warnings };
}

/** Total number of tasks across all waves. */
export function taskCount(plan: ParsedPlan): number {
  return plan.waves.reduce((n, w) => n + w.tasks.length, 0);
}

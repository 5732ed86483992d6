// The tmux session of an agent, from its exact identity (project, task, title): one name per identity,
// whatever characters the three hold.
//
// Plain form `<project>--<title>` (the names kasmos always used, so sessions of an earlier version are
// still found) only when it can be read back: project and task of [A-Za-z0-9_-] with no "--" and no
// "-" at either end, and the title `<task>-<role suffix>` (plan, architect, coder, W<w>-T<t>,
// review-<n>, fix-<n>, verify-<n>). Then the first "--" ends the project, and the title splits into
// task and suffix one way only (no suffix ends with "-" + another suffix), so the triple is recovered.
// A plain name never contains "---". Any other identity gets `<readable part>---<hash of the exact
// triple>`, which always contains "---": the two forms never meet, and hashed names differ by the hash.
import { createHash } from "node:crypto";
import { sessionNameFor } from "./tmux.ts";

const PLAIN_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;
const ROLE_SUFFIX = /^(?:plan|architect|coder|W\d+-T\d+|review-\d+|fix-\d+|verify-\d+)$/;
/** tmux session names stay well under terminal widths and kasmos's own 100-character bound (sessionNameFor). */
const MAX_BODY = 96;
const HASH_HEX = 24;

function plainPart(s: string): boolean {
  return PLAIN_PART.test(s) && !s.includes("--");
}

/**
 * The session "title" handed to Tmux (which prefixes `kas_`): always of [A-Za-z0-9_-] and at most
 * MAX_BODY characters, so Tmux uses it as it is.
 */
export function agentSessionTitle(project: string, task: string, title: string): string {
  const plain = `${project}--${title}`;
  const suffix = title.startsWith(`${task}-`) ? title.slice(task.length + 1) : "";
  if (plain.length <= MAX_BODY && plainPart(project) && plainPart(task) && ROLE_SUFFIX.test(suffix)) return plain;
  const hash = createHash("sha256").update(JSON.stringify([project, task, title])).digest("hex").slice(0, HASH_HEX);
  const readable = plain.replace(/[^A-Za-z0-9_-]/g, "_").replace(/-{2,}/g, "-").slice(0, MAX_BODY - HASH_HEX - 3);
  return `${readable}---${hash}`;
}

/**
 * The session title of a recorded agent: its own name, except for an agent an earlier version started
 * under the name it gave then (`<project>--<title>`, sanitised and hashed by sessionNameFor): that
 * session keeps being found, stopped and read under its old name until it ends.
 */
export function recordedSessionTitle(a: { project: string; task: string; title: string; session: string }): string {
  const current = agentSessionTitle(a.project, a.task, a.title);
  const legacy = `${a.project}--${a.title}`;
  return a.session !== sessionNameFor(current) && a.session === sessionNameFor(legacy) ? legacy : current;
}

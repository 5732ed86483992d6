// The Task page's diff view: each changed file with its line counts, folded, its hunks coloured by line
// kind (added, removed, hunk header), one block per line. Text goes in as text, never as HTML.
import { h } from "./dom.ts";

export interface DiffView {
  base: string;
  branch: string;
  files: { path: string; additions: number | null; deletions: number | null }[];
  patch: string;
  truncated: boolean;
}

/** Lines drawn at most per file (a generated file can be huge); the counts above stay whole. */
const MAX_LINES_PER_FILE = 2000;

function lineClass(line: string): string {
  if (line.startsWith("@@")) return "dh";
  if (line.startsWith("+") && !line.startsWith("+++")) return "da";
  if (line.startsWith("-") && !line.startsWith("---")) return "dd";
  return "dc";
}

/** The patch cut at each `diff --git` header: one piece per file, in order. */
function perFile(patch: string): string[] {
  return patch.split(/^(?=diff --git )/m).filter((p) => p.startsWith("diff --git "));
}

export function renderDiff(d: DiffView): HTMLElement {
  const pieces = perFile(d.patch);
  const adds = d.files.reduce((n, f) => n + (f.additions ?? 0), 0);
  const dels = d.files.reduce((n, f) => n + (f.deletions ?? 0), 0);
  return h(
    "div",
    { class: "diff" },
    h("p", { class: "quiet" }, `${d.branch} against ${d.base}: ${d.files.length} file${d.files.length === 1 ? "" : "s"}, +${adds} −${dels}${d.truncated ? " (patch cut at 2 MiB)" : ""}`),
    ...d.files.map((f, i) => {
      const lines = (pieces[i] ?? "").split("\n");
      const shown = lines.slice(0, MAX_LINES_PER_FILE);
      return h(
        "details",
        { class: "dfile", "data-path": f.path },
        h("summary", {}, h("code", {}, f.path), " ", h("span", { class: "da" }, f.additions === null ? "binary" : `+${f.additions}`), " ", h("span", { class: "dd" }, f.deletions === null ? "" : `−${f.deletions}`)),
        h("pre", { class: "dpatch" }, ...shown.map((l) => h("span", { class: lineClass(l) }, l)), lines.length > shown.length ? h("span", { class: "dc" }, `… ${lines.length - shown.length} more lines`) : null),
      );
    }),
  );
}

// `kas daemon gc [--dry-run] [--json]`: run the daemon's garbage collection ([retention]) now.
import { defineCommand } from "citty";
import { gc, type GcBody, type GcReport } from "../../api/gc.ts";
import { daemonClient } from "../../server/client.ts";
import { withExamples } from "../_help.ts";
import { clientSocketPath, guard, print, printJson } from "../_util.ts";
import { socketArg, socketFlag } from "./_socket.ts";

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(2)} MiB`;
}

/** The report in words. */
export function formatGcReport(r: GcReport): string {
  const verb = r.dry_run ? "would remove" : "removed";
  const rm = r.removed;
  const lines = [
    `${r.dry_run ? "dry run: " : ""}${verb} (history ${r.days > 0 ? `older than ${r.days} days` : "kept forever: days = 0"}; worktrees ${r.worktree_grace_days} days after done or cancelled):`,
    `  signal rows       ${rm.signals}`,
    `  audit rows        ${rm.audit}`,
    `  agent rows        ${rm.agents}`,
    `  prompt files      ${rm.prompt_files}`,
    `  agent run folders ${rm.run_folders}`,
    `  quarantined files ${rm.quarantined_files}`,
  ];
  if (rm.log_bytes > 0) lines.push(`  daemon log        ${mib(rm.log_bytes)} (moved to daemon.log.1)`);
  lines.push(`  worktrees         ${r.worktrees_removed.length}`);
  for (const w of r.worktrees_removed) {
    lines.push(`    ${w.project}/${w.task}: ${w.path}`);
    if (w.ignored && w.ignored.length > 0) lines.push(`      with its git-ignored files: ${w.ignored.join(", ")}`);
  }
  if (r.worktrees_kept.length > 0) {
    lines.push(`worktrees kept (${r.worktrees_kept.length}):`);
    for (const w of r.worktrees_kept) lines.push(`    ${w.project}/${w.task}: ${w.path}: ${w.reason}`);
  }
  lines.push(
    r.dry_run
      ? `store: ${mib(r.bytes_before)}`
      : `store: ${mib(r.bytes_before)} → ${mib(r.bytes_after)}${r.vacuum === "full" ? " (one-time VACUUM: the store now returns space incrementally)" : ""}`,
  );
  return `${lines.join("\n")}\n`;
}

export default withExamples(
  defineCommand({
    meta: {
      name: "gc",
      description:
        "Remove what [retention] no longer keeps: old finished signal, audit and agent rows of tasks done or cancelled long ago, prompt and quarantined files, and the worktrees of finished tasks whose branch is pushed or merged (never one with uncommitted work: listed instead); then return the space. The daemon also does it at idle.",
    },
    args: {
      "dry-run": { type: "boolean", description: "only show what would be removed (worktrees with the git-ignored files they hold)" },
      force: { type: "boolean", description: "also remove finished worktrees holding git-ignored files that are not build output (.env, logs); never one with uncommitted or unpushed work" },
      json: { type: "boolean", description: "print the JSON report" },
      ...socketArg,
    },
    async run({ args }) {
      await guard(async () => {
        const api = daemonClient(await clientSocketPath(socketFlag(args)));
        const body: GcBody = { dry_run: args["dry-run"] === true, force: args.force === true };
        // A first run on a big store may rewrite it once (VACUUM): minutes, not seconds.
        const r = await api(gc, { body, timeout: 30 * 60_000 });
        if (args.json) return printJson(r);
        print(formatGcReport(r));
      });
    },
  }),
  ["kas daemon gc --dry-run", "kas daemon gc", "kas daemon gc --force", "kas daemon gc --json"],
);

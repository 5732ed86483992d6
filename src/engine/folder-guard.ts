// What the signal engine does when a repo's folders cannot be trusted: a signals folder reached
// through a link is refused (the repo's own makes the repo a problem; a worktree's is skipped), and a
// link or chmod made after registration is noticed within LAYOUT_CHECK_MS. Each is said once, as an
// error log line and an attention audit row.
import { recordAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import type { SignalDir } from "../signals/files.ts";
import type { EventHub } from "./events.ts";
import type { Logger } from "../runtime/log.ts";
import { layoutCheckDue, repoLayoutProblem } from "./repo-layout.ts";
import type { RepoEntry } from "./repos.ts";

export class FolderGuard {
  /** (path, text) already said. */
  private said = new Set<string>();

  constructor(
    private db: Db,
    private log: Logger,
    private hub: EventHub,
  ) {}

  /** A signals folder reached through a link: never read, moved or deleted in. */
  refuseFolder(repo: RepoEntry, dir: SignalDir, reason: string): void {
    if (dir.worktree === "" && dir.owner === undefined) repo.problem = reason; // re-checked by the registry each pass until fixed
    this.attentionOnce(repo, dir.path, `${dir.rel} refused: ${reason}`);
  }

  /** A repo registered with a problem: said once. */
  skipped(repo: RepoEntry): void {
    if (repo.problem) this.attentionOnce(repo, repo.path, `repo skipped: ${repo.problem}`);
  }

  /** True when the repo's own folders became unusable since the last look (then it is a problem). */
  layoutBroken(repo: RepoEntry): boolean {
    const layout = layoutCheckDue(repo.path) ? repoLayoutProblem(repo.path) : null;
    if (layout === null) return false;
    repo.problem = layout;
    this.skipped(repo);
    return true;
  }

  private attentionOnce(repo: RepoEntry, path: string, text: string): void {
    const key = `${path}\0${text}`;
    if (this.said.has(key)) return;
    if (this.said.size >= 10_000) this.said.clear();
    this.said.add(key);
    this.log.error(`${repo.project}: ${text}`);
    recordAudit(this.db, { kind: "attention", project: repo.project, level: "error", message: text, detail: { path } });
    this.hub.pump();
  }
}

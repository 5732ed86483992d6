// The running daemon as the control API's routes and the dashboard see it: the config in force, the
// store, the repo registry, the scan loop, and what an operator does to them. Built, with every part it
// wires together, by src/daemon/compose.ts.
import type { DaemonConfig } from "../config/schema.ts";
import type { Db } from "../store/db.ts";
import type { Logger } from "../runtime/log.ts";
import type { RepoEntry, RepoRegistry } from "../engine/repos.ts";
import type { ScanLoop } from "../engine/scan-loop.ts";
import type { StatusResponse } from "../api/status.ts";

export type ReloadResult = { ok: true; changes: string[]; warnings: string[] } | { ok: false; error: string };

export interface Daemon {
  /** The config in force (replaced by a reload). */
  readonly config: DaemonConfig;
  readonly db: Db;
  readonly log: Logger;
  readonly registry: RepoRegistry;
  readonly loop: ScanLoop;
  readonly startedAt: number;
  status(): StatusResponse;
  addRepo(path: string): RepoEntry & { warnings: string[] };
  removeRepo(project: string): RepoEntry;
  /** Re-read the config file and apply it. A broken file is refused and the old config stays in force. */
  reload(source: string): ReloadResult;
}

// Versioned schema. Append only: never edit a shipped step; add a new one.
import type { Database } from "bun:sqlite";

export type Migration = ((db: Database) => void) & {
  /**
   * The step rebuilds a table that others reference (SQLite's documented 12-step table change): it runs
   * with foreign keys off (a DROP TABLE would otherwise cascade into the referencing rows), and
   * migrate() checks every foreign key before it commits.
   */
  rebuildsTables?: true;
};

/**
 * Triggers keeping a totals table equal to a GROUP BY of `source`: `add` (NEW's share) after an insert,
 * `remove` (OLD's share) after a delete, both after an update (optionally only `of` columns, `when` …).
 */
function totalsTriggers(name: string, source: string, add: string, remove: string, update: { of?: string; when?: string } = {}): string {
  return `CREATE TRIGGER ${name}_ins AFTER INSERT ON ${source} BEGIN ${add} END;
      CREATE TRIGGER ${name}_del AFTER DELETE ON ${source} BEGIN ${remove} END;
      CREATE TRIGGER ${name}_upd AFTER UPDATE${update.of ? ` OF ${update.of}` : ""} ON ${source}${update.when ? ` WHEN ${update.when}` : ""} BEGIN ${remove} ${add} END;`;
}

/**
 * Rebuild a table in place (same definition, indexes and rows): the rows are packed into fresh pages.
 * Only inside a migration marked rebuildsTables (foreign keys off).
 */
function rebuildTable(db: Database, table: string): void {
  const def = db.query<{ sql: string }, [string]>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
  if (!def) return;
  const indexes = db.query<{ sql: string }, [string]>("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table);
  const tmp = `${table}_rebuild`;
  db.exec(def.sql.replace(/^CREATE TABLE\s+("?)\w+\1/i, `CREATE TABLE ${tmp}`));
  db.exec(`INSERT INTO ${tmp} SELECT * FROM ${table}`);
  db.exec(`DROP TABLE ${table}`);
  db.exec(`ALTER TABLE ${tmp} RENAME TO ${table}`);
  for (const i of indexes) db.exec(i.sql);
}

/**
 * SQL: the stored task states in which src/lifecycle/agents.ts expectedAgents can ask for an agent.
 * Also the WHERE of the partial index idx_tasks_may_need_agent (migration 7): SQLite uses that index
 * only for a query whose WHERE contains this exact expression, so queries take it from here. Changing
 * it means a new migration that recreates the index.
 */
export const MAY_NEED_AGENT = `(status = 'planning'
  OR (status = 'implementing' AND execution_phase IN ('architecting', 'single_agent_implementing', 'fixing', 'wave_running'))
  OR (status = 'reviewing' AND active_agent = 'reviewer')
  OR (status = 'verifying' AND active_agent = 'master'))`;

/**
 * SQL: tasks that are not finished (can still signal, need agents, show up in status). The WHERE of
 * the partial index idx_tasks_open (migration 12); queries must contain this exact expression.
 */
export const OPEN_TASK = "status NOT IN ('done', 'cancelled')";
/** Tasks an agent may be working on (lifecycle ACTIVE_STATUSES), as a partial-index condition. */
export const ACTIVE_TASK = "status IN ('planning', 'implementing', 'reviewing', 'verifying')";

/** SQL: done, verified tasks without any PR attempt yet (the GitHub sweep's candidates; idx_tasks_pr_todo, migration 12). */
export const PR_TODO = "status = 'done' AND verified_sha != '' AND pr_url = '' AND pr_create_state = ''";

/** SQL: tasks with a PR still open (the PR monitor's set; idx_tasks_pr_open, migration 12). */
export const PR_OPEN = "pr_number IS NOT NULL AND pr_state NOT IN ('closed', 'merged')";

/** SQL: a task's worktree folder name (`<repo>/.worktrees/<branch with "/" → "-">`); indexed by idx_tasks_folder. */
export const TASK_FOLDER = "replace(branch, '/', '-')";

export const MIGRATIONS: Migration[] = [
  // 1: repositories registered at run time (survive restarts; merged with the config's `repos`).
  (db) => {
    db.exec(`
      CREATE TABLE repos (
        project    TEXT PRIMARY KEY,
        path       TEXT NOT NULL UNIQUE,
        added_at   TEXT NOT NULL
      );
    `);
  },
  // 2: tasks, subtasks, the signal queue and the audit log.
  // Text columns default '' and counters 0; optional timestamps are NULL when unset.
  (db) => {
    db.exec(`
      CREATE TABLE tasks (
        id                  INTEGER PRIMARY KEY,
        project             TEXT    NOT NULL,
        name                TEXT    NOT NULL,
        status              TEXT    NOT NULL DEFAULT 'ready',
        description         TEXT    NOT NULL DEFAULT '',
        topic               TEXT    NOT NULL DEFAULT '',
        branch              TEXT    NOT NULL DEFAULT '',
        content             TEXT    NOT NULL DEFAULT '',
        execution_phase     TEXT    NOT NULL DEFAULT '',
        active_agent        TEXT    NOT NULL DEFAULT '',
        active_wave         INTEGER NOT NULL DEFAULT 0,
        review_cycle        INTEGER NOT NULL DEFAULT 0,
        verify_cycle        INTEGER NOT NULL DEFAULT 0,
        latest_feedback     TEXT    NOT NULL DEFAULT '',
        verified_sha        TEXT    NOT NULL DEFAULT '',
        verified_base_sha   TEXT    NOT NULL DEFAULT '',
        verified_by         TEXT    NOT NULL DEFAULT '',
        verified_at         TEXT,
        verify_origin       TEXT    NOT NULL DEFAULT '',
        pr_url              TEXT    NOT NULL DEFAULT '',
        pr_state            TEXT    NOT NULL DEFAULT '',
        pr_number           INTEGER,
        pr_create_state     TEXT    NOT NULL DEFAULT '',
        pr_create_error     TEXT    NOT NULL DEFAULT '',
        pr_create_attempts  INTEGER NOT NULL DEFAULT 0,
        planning_at         TEXT,
        implementing_at     TEXT,
        reviewing_at        TEXT,
        verifying_at        TEXT,
        done_at             TEXT,
        created_at          TEXT    NOT NULL,
        updated_at          TEXT    NOT NULL,
        UNIQUE (project, name)
      );
      CREATE INDEX idx_tasks_project_status ON tasks (project, status);

      CREATE TABLE subtasks (
        id       INTEGER PRIMARY KEY,
        project  TEXT    NOT NULL,
        task     TEXT    NOT NULL,
        number   INTEGER NOT NULL,
        title    TEXT    NOT NULL DEFAULT '',
        wave     INTEGER NOT NULL DEFAULT 0,
        status   TEXT    NOT NULL DEFAULT 'pending',
        UNIQUE (project, task, number),
        FOREIGN KEY (project, task) REFERENCES tasks (project, name) ON DELETE CASCADE ON UPDATE CASCADE
      );

      CREATE TABLE signals (
        id            INTEGER PRIMARY KEY,
        project       TEXT NOT NULL DEFAULT '',
        task          TEXT NOT NULL DEFAULT '',
        signal_type   TEXT NOT NULL DEFAULT '',
        payload       TEXT NOT NULL DEFAULT '',
        source        TEXT NOT NULL DEFAULT '',
        dedup_key     TEXT NOT NULL DEFAULT '',
        status        TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'processing', 'done', 'failed')),
        created_at    TEXT NOT NULL,
        claimed_at    TEXT,
        claimed_by    TEXT,
        processed_at  TEXT,
        result        TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX idx_signals_claim ON signals (project, status, created_at, id);
      CREATE INDEX idx_signals_status ON signals (status, created_at, id);
      CREATE UNIQUE INDEX idx_signals_dedup_active ON signals (dedup_key)
        WHERE dedup_key <> '' AND status IN ('pending', 'processing');

      CREATE TABLE audit_events (
        id           INTEGER PRIMARY KEY,
        kind         TEXT    NOT NULL,
        timestamp    TEXT    NOT NULL,
        project      TEXT    NOT NULL DEFAULT '',
        task         TEXT    NOT NULL DEFAULT '',
        from_status  TEXT    NOT NULL DEFAULT '',
        to_status    TEXT    NOT NULL DEFAULT '',
        event        TEXT    NOT NULL DEFAULT '',
        signal_id    INTEGER,
        message      TEXT    NOT NULL DEFAULT '',
        detail       TEXT,
        level        TEXT    NOT NULL DEFAULT 'info' CHECK (level IN ('info', 'warn', 'error'))
      );
      CREATE INDEX idx_audit_project_ts ON audit_events (project, timestamp);
      CREATE INDEX idx_audit_task_ts ON audit_events (task, timestamp);
      CREATE INDEX idx_audit_kind ON audit_events (kind, id);
    `);
  },
  // 3: file signals are looked up by their source (file identity) for exactly-once consumption.
  (db) => {
    db.exec("CREATE INDEX idx_signals_source ON signals (source)");
  },
  // 4: agents the daemon started (tmux sessions), and a task's open attention item.
  (db) => {
    db.exec(`
      CREATE TABLE agents (
        id           INTEGER PRIMARY KEY,
        project      TEXT    NOT NULL,
        task         TEXT    NOT NULL,
        title        TEXT    NOT NULL,
        role         TEXT    NOT NULL,
        wave         INTEGER NOT NULL DEFAULT 0,
        task_number  INTEGER NOT NULL DEFAULT 0,
        session      TEXT    NOT NULL,
        cwd          TEXT    NOT NULL DEFAULT '',
        program      TEXT    NOT NULL DEFAULT '',
        state        TEXT    NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'exited', 'killed', 'failed')),
        exit_status  INTEGER,
        reason       TEXT    NOT NULL DEFAULT '',
        started_at   TEXT    NOT NULL,
        ended_at     TEXT
      );
      CREATE UNIQUE INDEX idx_agents_live_title ON agents (project, title) WHERE state = 'running';
      CREATE INDEX idx_agents_task ON agents (project, task, state);
      ALTER TABLE tasks ADD COLUMN attention TEXT NOT NULL DEFAULT '';
    `);
  },
  // 5: the commit a master was started on (its self-fixes are measured from there).
  (db) => {
    db.exec("ALTER TABLE agents ADD COLUMN base_sha TEXT NOT NULL DEFAULT ''");
  },
  // 6: GitHub integration (src/github): PR-creation retry schedule, processed PR reviews (with the
  // outcome handed to the daemon, so a cycle-limit is reported once) and reactions already posted.
  (db) => {
    db.exec(`
      CREATE TABLE pr_create_runs (
        project        TEXT NOT NULL,
        task           TEXT NOT NULL,
        attempted_at   TEXT NOT NULL,
        next_retry_at  TEXT,
        PRIMARY KEY (project, task),
        FOREIGN KEY (project, task) REFERENCES tasks (project, name) ON DELETE CASCADE ON UPDATE CASCADE
      );
      CREATE TABLE pr_reviews (
        project       TEXT    NOT NULL,
        task          TEXT    NOT NULL,
        pr_number     INTEGER NOT NULL,
        review_id     INTEGER NOT NULL,
        author        TEXT    NOT NULL DEFAULT '',
        state         TEXT    NOT NULL DEFAULT '',
        body          TEXT    NOT NULL DEFAULT '',
        outcome       TEXT    NOT NULL,
        processed_at  TEXT    NOT NULL,
        PRIMARY KEY (project, review_id),
        FOREIGN KEY (project, task) REFERENCES tasks (project, name) ON DELETE CASCADE ON UPDATE CASCADE
      );
      CREATE TABLE pr_reactions (
        project     TEXT    NOT NULL,
        task        TEXT    NOT NULL,
        review_id   INTEGER NOT NULL,
        comment_id  INTEGER NOT NULL,
        content     TEXT    NOT NULL,
        posted_at   TEXT    NOT NULL,
        PRIMARY KEY (project, comment_id, content),
        FOREIGN KEY (project, task) REFERENCES tasks (project, name) ON DELETE CASCADE ON UPDATE CASCADE
      );
    `);
  },
  // 7: partial indexes, so a burst of file signals (inserted already done) and task updates touch
  // as few b-trees as possible, while the queries that look for the few interesting rows (pending,
  // in flight, failed, tasks that may need an agent) stay index lookups.
  (db) => {
    db.exec(`
      DROP INDEX idx_signals_claim;
      DROP INDEX idx_signals_status;
      CREATE INDEX idx_signals_pending ON signals (project, created_at, id) WHERE status = 'pending';
      CREATE INDEX idx_signals_processing ON signals (claimed_at) WHERE status = 'processing';
      CREATE INDEX idx_signals_failed ON signals (project, created_at) WHERE status = 'failed';
      CREATE INDEX idx_tasks_may_need_agent ON tasks (project) WHERE ${MAY_NEED_AGENT};
    `);
  },
  // 8: what an agent is doing, from its CLI's own hooks or the pane watcher (activity), how often it
  // was nudged, the transcript its CLI keeps, the last pane lines when it ended (why it exited), and
  // ended rows an operator restarted (no longer block a new start).
  (db) => {
    db.exec(`
      ALTER TABLE agents ADD COLUMN harness TEXT NOT NULL DEFAULT '';
      ALTER TABLE agents ADD COLUMN activity TEXT NOT NULL DEFAULT '';
      ALTER TABLE agents ADD COLUMN activity_at TEXT;
      ALTER TABLE agents ADD COLUMN activity_note TEXT NOT NULL DEFAULT '';
      ALTER TABLE agents ADD COLUMN transcript TEXT NOT NULL DEFAULT '';
      ALTER TABLE agents ADD COLUMN nudges INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE agents ADD COLUMN last_lines TEXT NOT NULL DEFAULT '';
      ALTER TABLE agents ADD COLUMN restarted INTEGER NOT NULL DEFAULT 0;
    `);
  },
  // 9: token usage per agent run and model, read from the agent CLIs' own records (kept when the
  // transcripts are gone), and where the reader stopped in its transcript.
  (db) => {
    db.exec(`
      CREATE TABLE agent_usage (
        agent_id     INTEGER NOT NULL,
        project      TEXT    NOT NULL,
        task         TEXT    NOT NULL,
        role         TEXT    NOT NULL,
        model        TEXT    NOT NULL,
        input        INTEGER NOT NULL DEFAULT 0,
        output       INTEGER NOT NULL DEFAULT 0,
        cache_write  INTEGER NOT NULL DEFAULT 0,
        cache_read   INTEGER NOT NULL DEFAULT 0,
        updated_at   TEXT    NOT NULL,
        PRIMARY KEY (agent_id, model)
      );
      CREATE INDEX idx_agent_usage_task ON agent_usage (project, task);
      CREATE INDEX idx_agent_usage_time ON agent_usage (updated_at);
      ALTER TABLE agents ADD COLUMN usage_cursor TEXT NOT NULL DEFAULT '';
    `);
  },
  // 10: a task held by its budget (why; "" = not held) and the spend an operator's resume granted past.
  (db) => {
    db.exec(`
      ALTER TABLE tasks ADD COLUMN hold TEXT NOT NULL DEFAULT '';
      ALTER TABLE tasks ADD COLUMN budget_base TEXT NOT NULL DEFAULT '';
    `);
  },
  // 11: metrics counters of history rows removed by retention (src/store/retention.ts), folded in
  // before the rows go, so /v1/metrics never goes backwards (family: "signals" keyed by type and
  // status, "transitions" by event and target status).
  (db) => {
    db.exec(`
      CREATE TABLE metrics_folded (
        family  TEXT    NOT NULL,
        a       TEXT    NOT NULL,
        b       TEXT    NOT NULL,
        n       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (family, a, b)
      ) WITHOUT ROWID;
    `);
  },
  // 12: history-independent hot paths (issue 14). Plan text moves out of the task row into task_plans
  // (tasks.content stays, always ''): every read of a task's other columns used to read its plan's
  // pages too, so listing 50 k tasks read 100+ MB; the table is rebuilt so its rows, now small, share
  // pages (an UPDATE alone leaves one row per page). Task counts per (repo, status) kept by triggers
  // (status and metrics read a handful of rows, not every task). Partial indexes for the few interesting tasks (open,
  // with attention, waiting for a PR, with an open PR), a task's branch / worktree folder lookups, a
  // task's newest audit rows (was (task, timestamp) then a sort by id), and usage totals
  // per (repo, role, model) kept by triggers, so a metrics scrape reads a handful of rows instead of
  // grouping every agent run ever recorded.
  Object.assign((db: Database) => {
    const addNew = `INSERT INTO usage_totals (project, role, model, input, output, cache_write, cache_read)
          VALUES (NEW.project, NEW.role, NEW.model, NEW.input, NEW.output, NEW.cache_write, NEW.cache_read)
          ON CONFLICT (project, role, model) DO UPDATE SET input = input + excluded.input, output = output + excluded.output,
            cache_write = cache_write + excluded.cache_write, cache_read = cache_read + excluded.cache_read;`;
    const countNew = "INSERT INTO task_counts (project, status, n) VALUES (NEW.project, NEW.status, 1) ON CONFLICT (project, status) DO UPDATE SET n = n + 1;";
    const uncountOld = "UPDATE task_counts SET n = n - 1 WHERE project = OLD.project AND status = OLD.status;";
    const subtractOld = `UPDATE usage_totals SET input = input - OLD.input, output = output - OLD.output, cache_write = cache_write - OLD.cache_write, cache_read = cache_read - OLD.cache_read
          WHERE project = OLD.project AND role = OLD.role AND model = OLD.model;`;
    db.exec(`
      CREATE TABLE task_plans (
        task_id  INTEGER PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
        content  TEXT    NOT NULL
      );
      INSERT INTO task_plans (task_id, content) SELECT id, content FROM tasks WHERE content != '';
      UPDATE tasks SET content = '' WHERE content != '';
    `);
    rebuildTable(db, "tasks"); // before the triggers below: dropping the old table drops its triggers
    db.exec(`
      CREATE TABLE task_counts (
        project TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (project, status)
      ) WITHOUT ROWID;
      INSERT INTO task_counts (project, status, n) SELECT project, status, COUNT(*) FROM tasks GROUP BY project, status;
      ${totalsTriggers("task_counts", "tasks", countNew, uncountOld, { of: "project, status", when: "OLD.project != NEW.project OR OLD.status != NEW.status" })}
      CREATE INDEX idx_tasks_open ON tasks (project, name) WHERE ${OPEN_TASK};
      CREATE INDEX idx_tasks_attention ON tasks (project, name) WHERE attention != '';
      CREATE INDEX idx_tasks_pr_todo ON tasks (project) WHERE ${PR_TODO};
      CREATE INDEX idx_tasks_pr_open ON tasks (project) WHERE ${PR_OPEN};
      CREATE INDEX idx_tasks_branch ON tasks (project, branch);
      CREATE INDEX idx_pr_runs_retry ON pr_create_runs (next_retry_at) WHERE next_retry_at IS NOT NULL;
      DROP INDEX idx_audit_task_ts;
      CREATE INDEX idx_audit_task_id ON audit_events (project, task, id);
      CREATE INDEX idx_tasks_folder ON tasks (project, ${TASK_FOLDER});
      CREATE TABLE usage_totals (
        project TEXT NOT NULL, role TEXT NOT NULL, model TEXT NOT NULL,
        input INTEGER NOT NULL DEFAULT 0, output INTEGER NOT NULL DEFAULT 0, cache_write INTEGER NOT NULL DEFAULT 0, cache_read INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (project, role, model)
      );
      INSERT INTO usage_totals (project, role, model, input, output, cache_write, cache_read)
        SELECT project, role, model, SUM(input), SUM(output), SUM(cache_write), SUM(cache_read) FROM agent_usage GROUP BY project, role, model;
      ${totalsTriggers("usage_totals", "agent_usage", addNew, subtractOld)}
    `);
    // A store with statistics (someone ran ANALYZE) would otherwise plan with none for the new indexes
    // and may pick one of them for an unrelated `WHERE project = ?` (a walk of the whole project).
    if (db.query("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").get()) {
      for (const idx of ["idx_tasks_open", "idx_tasks_attention", "idx_tasks_pr_todo", "idx_tasks_pr_open", "idx_tasks_branch", "idx_tasks_folder", "idx_pr_runs_retry"]) db.exec(`ANALYZE ${idx}`);
    }
  }, { rebuildsTables: true as const }),
  // 13: the active tasks (planning … verifying) on their own small index: daemon status lists them
  // without walking a backlog of ready tasks (idx_tasks_open holds those too).
  (db) => {
    db.exec(`CREATE INDEX idx_tasks_active ON tasks (project, name) WHERE ${ACTIVE_TASK};`);
    if (db.query("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").get()) db.exec("ANALYZE idx_tasks_active");
  },
  // 14: the store's identity (tmux sessions record it as their owner: a daemon of another store on the
  // same tmux socket never touches them), and every repository's project key by real path (a project
  // is the repository, not its basename: a second repo of one basename gets a key of its own). Rows of
  // an older store were keyed by the basename of a registered repo: those registrations keep that key.
  (db) => {
    db.exec(`
      CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE project_paths (
        project    TEXT PRIMARY KEY,
        path       TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      );
      INSERT OR IGNORE INTO project_paths (project, path, created_at) SELECT project, path, added_at FROM repos;
    `);
  },
  // 15: a project's agents newest first (agent list --all, instances?all=1) walk this index backwards and
  // stop at the limit, instead of sorting every row the project ever had.
  (db) => {
    db.exec("CREATE INDEX idx_agents_project_id ON agents (project, id);");
    if (db.query("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").get()) db.exec("ANALYZE idx_agents_project_id");
  },
  // 16: a repository's .kasmos/config.toml the user approved (`kas daemon trust`), by the repo's path and
  // the file's digest: the commands it names run only while the file is exactly what was approved.
  (db) => {
    db.exec(`
      CREATE TABLE repo_config_trust (
        path        TEXT PRIMARY KEY,
        digest      TEXT NOT NULL,
        commands    TEXT NOT NULL,
        approved_at TEXT NOT NULL
      );
    `);
  },
  // 17: whether an agent runs in kasmos's sandbox, and under which policy, in a line ("" = started
  // before kasmos recorded it).
  (db) => {
    db.exec("ALTER TABLE agents ADD COLUMN sandbox TEXT NOT NULL DEFAULT ''");
  },
];

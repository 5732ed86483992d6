// Which agents a task needs right now, derived from its persisted state alone (pure). The daemon
// reconciles running tmux sessions against this list: missing ones start, superseded ones stop.
// Because the list comes from the store, a restart (or a CLI transition made while the daemon was
// busy elsewhere) needs no replay: the next reconcile pass does the right thing.
import { mapLegacyStatus } from "./fsm.ts";
import type { TaskSnapshot } from "./model.ts";
import type { AgentRole } from "./roles.ts";

export interface ExpectedAgent {
  role: AgentRole;
  /** Unique per task and round. */
  title: string;
  mode?: "single" | "wave";
  wave?: number;
  taskNumber?: number;
  taskTitle?: string;
  peers?: number;
  round?: number;
}

/** The title of the coder of wave `wave`, task `number`. */
export function waveCoderTitle(task: string, wave: number, number: number): string {
  return `${task}-W${wave}-T${number}`;
}

export function expectedAgents(task: TaskSnapshot): ExpectedAgent[] {
  const t = task.name;
  const e = task.execution;
  switch (mapLegacyStatus(task.status)) {
    case "planning":
      return [{ role: "planner", title: `${t}-plan` }];
    case "implementing":
      switch (e.phase) {
        case "architecting":
          return [{ role: "architect", title: `${t}-architect` }];
        case "single_agent_implementing":
          return [{ role: "coder", mode: "single", title: `${t}-coder` }];
        case "fixing":
          return [{ role: "fixer", title: `${t}-fix-${Math.max(task.reviewCycle, 1)}`, round: Math.max(task.reviewCycle, 1) }];
        case "wave_running": {
          const inWave = (task.subtasks ?? []).filter((s) => s.wave === e.wave);
          return inWave
            .filter((s) => s.status === "running")
            .map((s) => ({ role: "coder" as const, mode: "wave" as const, title: waveCoderTitle(t, e.wave, s.number), wave: e.wave, taskNumber: s.number, taskTitle: s.title, peers: inWave.length - 1 }));
        }
        default:
          return [];
      }
    case "reviewing":
      return e.agent === "reviewer" ? [{ role: "reviewer", title: `${t}-review-${task.reviewCycle + 1}`, round: task.reviewCycle + 1 }] : [];
    case "verifying":
      return e.agent === "master" ? [{ role: "master", title: `${t}-verify-${task.verifyCycle + 1}`, round: task.verifyCycle + 1 }] : [];
    default:
      return [];
  }
}

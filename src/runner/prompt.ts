// The prompt an agent starts with: its role's text filled from the task, its plan and its worktree.
import { resolveBranchHead } from "../agents/git.ts";
import { buildPrompt, type PromptCommon, type PromptInput } from "../agents/prompts.ts";
import type { DaemonConfig } from "../config/schema.ts";
import type { ExpectedAgent } from "../lifecycle/agents.ts";
import { extractMetadata, headerContext, parsePlan } from "../lifecycle/plan-parser.ts";
import type { TaskRow } from "../store/tasks.ts";
import type { RepoEntry } from "../engine/repos.ts";

export async function agentPrompt(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, cwd: string, eff: DaemonConfig, kasmosBin: string): Promise<string> {
  const common: PromptCommon = { project: repo.project, task: t.name, repoPath: repo.path, worktreePath: cwd, branch: t.branch, description: t.description, kasmosBin };
  let input: PromptInput;
  switch (w.role) {
    case "planner":
      input = { ...common, role: "planner" };
      break;
    case "architect":
      input = { ...common, role: "architect", plan: t.content };
      break;
    case "coder":
      if (w.mode === "wave") {
        const plan = parsePlan(t.content);
        const task = plan.ok ? plan.plan.waves.flatMap((x) => x.tasks).find((x) => x.number === w.taskNumber) : undefined;
        input = { ...common, role: "coder", mode: "wave", waveNumber: w.wave ?? 1, taskNumber: w.taskNumber ?? 1, taskTitle: w.taskTitle ?? task?.title ?? "", taskBody: task?.body ?? "", peers: w.peers ?? 0, headerContext: headerContext(extractMetadata(t.content)) };
      } else input = { ...common, role: "coder", mode: "single", plan: t.content };
      break;
    case "reviewer":
      input = { ...common, role: "reviewer", round: w.round ?? 1, previousFeedback: t.latestFeedback, plan: t.content };
      break;
    case "fixer":
      input = { ...common, role: "fixer", round: w.round ?? 1, feedback: t.latestFeedback };
      break;
    case "master": {
      const head = await resolveBranchHead(repo.path, t.branch);
      input = {
        ...common,
        role: "master",
        round: w.round ?? 1,
        baseSha: head?.baseSha ?? "",
        headSha: head?.sha ?? "",
        selfFixMaxLines: eff.readiness_self_fix_max_lines,
        maxVerifyCycles: eff.readiness_max_verify_cycles,
        verifyCycle: t.verifyCycle + 1, // 1-based: "this is verify round N of M"
        plan: t.content,
      };
      break;
    }
  }
  return buildPrompt(input);
}

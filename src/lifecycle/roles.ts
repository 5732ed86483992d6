// The agent roles, in the order a task meets them: the lifecycle starts them, the config sets a
// program per role, the metrics label by role.
export const AGENT_ROLES = ["planner", "architect", "coder", "reviewer", "fixer", "master"] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

// Every route of the control API, in one list: the daemon checks it serves each, the OpenAPI
// document describes each, and the contract test calls each.
import { agentEvent, captureAgent, killAgent, listAgents, restartAgent, retryTask, sendToAgent } from "./agents.ts";
import { doctor } from "./doctor.ts";
import { events } from "./events.ts";
import { gc } from "./gc.ts";
import { metrics } from "./metrics.ts";
import { notifyTest } from "./notify.ts";
import { openapi } from "./openapi.ts";
import { reload } from "./reload.ts";
import { addRepo, listRepos, removeRepo, trustRepo } from "./repos.ts";
import type { RouteSpec } from "./route.ts";
import { emitSignal, listSignals, scan } from "./signals.ts";
import { ping, status } from "./status.ts";
import { createTask, listTasks, planTask, showTask, transitionTask } from "./tasks.ts";
import { usage } from "./usage.ts";
import { budget } from "./budget.ts";
import { taskDiff } from "./diff.ts";
import { terminalKeys, terminalStream, terminalTakeover } from "./terminal.ts";
import { webStart, webStatus } from "./web.ts";

export const ROUTES: readonly RouteSpec[] = [
  ping,
  status,
  reload,
  doctor,
  openapi,
  metrics,
  listRepos,
  addRepo,
  removeRepo,
  trustRepo,
  listTasks,
  createTask,
  showTask,
  planTask,
  transitionTask,
  retryTask,
  listSignals,
  emitSignal,
  scan,
  events,
  listAgents,
  captureAgent,
  sendToAgent,
  killAgent,
  restartAgent,
  agentEvent,
  usage,
  gc,
  notifyTest,
  webStatus,
  webStart,
  terminalStream,
  terminalTakeover,
  terminalKeys,
  taskDiff,
  budget,
];

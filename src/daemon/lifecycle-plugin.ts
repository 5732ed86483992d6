// Wires the task lifecycle (store, signals, FSM processor, events) into the daemon.
import type { Daemon } from "./daemon.ts";

export function installLifecycle(_daemon: Daemon): void {
  // Filled in by the lifecycle layer.
}

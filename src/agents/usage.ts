// Token usage from the agents' own records, read incrementally: the shapes every CLI's reader
// (its harness's readUsage) returns, and the bookkeeping they share. Each reader returns the agent's
// absolute totals per model and a cursor, so the next read starts where this one stopped. The files
// are untrusted (record-file.ts) and so are their numbers (usage-values.ts): a record whose counts
// are not believable is rejected and reported, never counted.
import type { TokenTotals } from "./usage-values.ts";

export type { TokenTotals } from "./usage-values.ts";

export type UsageByModel = Record<string, TokenTotals>;

export interface UsageCursor {
  /** Bytes of the transcript already read (complete lines only). */
  offset: number;
  /** Id of the last message counted (a message streamed over several lines is counted once). */
  lastId: string;
}

/** One read: the new absolute totals, where the next read starts, and records rejected on the way. */
export interface UsageRead {
  totals: UsageByModel;
  cursor: UsageCursor;
  /** Why records were not counted (at most a few reasons, for the log and the audit). */
  rejected: string[];
  /** The record file reached its size bound: nothing past it is read. */
  capped?: boolean;
  /** For a CLI whose reports name no transcript: the session this run wrote to (kept as the agent's record, for resume). */
  session?: string;
}

export const EMPTY_CURSOR: UsageCursor = { offset: 0, lastId: "" };
const MAX_REASONS = 5;

function zero(): TokenTotals {
  return { input: 0, output: 0, cacheWrite: 0, cacheRead: 0 };
}

/** Adds `t` to the model's totals in `into`. */
export function addTotals(into: UsageByModel, model: string, t: TokenTotals): void {
  const cur = into[model] ?? zero();
  into[model] = { input: cur.input + t.input, output: cur.output + t.output, cacheWrite: cur.cacheWrite + t.cacheWrite, cacheRead: cur.cacheRead + t.cacheRead };
}

export function cloneUsage(u: UsageByModel): UsageByModel {
  return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, { ...v }]));
}

/** Notes why a record was not counted (a few reasons at most). */
export function noteRejected(list: string[], why: string): void {
  if (list.length < MAX_REASONS) list.push(why);
}


// Signal gateway vocabulary: type canonicalization, payload normalization on the
// way into the queue, and typed decoding on the way out. Pure: no I/O.
import * as v from "valibot";
import { assertNever } from "./fsm.ts";
import { SIGNAL_TYPES, type FsmEvent, type SignalType } from "./types.ts";

/** Origins a verification may carry; agents may only claim "master" (or nothing). */
export const VERIFY_ORIGINS = ["master", "operator", "force_promoted", "auto"] as const;
export type VerifyOrigin = (typeof VERIFY_ORIGINS)[number];

const SIGNAL_TYPE_SET: ReadonlySet<string> = new Set(SIGNAL_TYPES);

/** Aliases after `-` → `_` folding. The readiness/master names are deprecated but still accepted. */
const SIGNAL_TYPE_ALIASES: Readonly<Record<string, SignalType>> = {
  review_changes: "review_changes_requested",
  architect_finished: "elaborator_finished",
  readiness_approved: "verify_approved",
  master_approved: "verify_approved",
  readiness_changes_requested: "verify_failed",
  readiness_changes: "verify_failed",
};

function isSignalType(s: string): s is SignalType {
  return SIGNAL_TYPE_SET.has(s);
}

export function canonicalSignalType(raw: string): { ok: true; type: SignalType } | { ok: false; error: string } {
  const key = raw.trim().replaceAll("-", "_");
  if (isSignalType(key)) return { ok: true, type: key };
  const alias = SIGNAL_TYPE_ALIASES[key];
  if (alias !== undefined) return { ok: true, type: alias };
  return { ok: false, error: `unknown signal type "${raw}"; valid types: ${SIGNAL_TYPES.join(", ")}` };
}

/** FSM event carried by a signal type; null for wave-orchestration and draft types. */
export function signalTypeToEvent(type: SignalType): FsmEvent | null {
  switch (type) {
    case "plan_start":
    case "planner_finished":
    case "implement_start":
    case "implement_finished":
    case "review_approved":
    case "review_changes_requested":
    case "verify_approved":
    case "verify_failed":
      return type;
    case "planner_draft_finished":
    case "implement_task_finished":
    case "implement_wave":
    case "elaborator_finished":
    case "advance_wave":
    case "retry_wave":
      return null;
    default:
      return assertNever(type);
  }
}

/** Gateway type for an FSM event; null for user-only and daemon-only events, which never travel as signals. */
export function eventToSignalType(event: FsmEvent): SignalType | null {
  switch (event) {
    case "plan_start":
    case "planner_finished":
    case "implement_start":
    case "implement_finished":
    case "review_approved":
    case "review_changes_requested":
    case "verify_approved":
    case "verify_failed":
      return event;
    case "request_review":
    case "start_over":
    case "reimplement":
    case "cancel":
    case "reopen":
    case "mark_done":
    case "verification_stale":
    case "budget_hold":
    case "resume":
      return null;
    default:
      return assertNever(event);
  }
}

// ---- payload schemas -------------------------------------------------------------------------

const Sha = v.pipe(
  v.string("must be a string"),
  v.check((s) => s === "" || /^[0-9a-f]{40}$/.test(s), "must be 40 lowercase hex characters"),
);
const WholeAtLeastOne = v.pipe(v.number("must be a number"), v.safeInteger("must be a whole number"), v.minValue(1, "must be ≥ 1"));

const LifecycleSchema = v.looseObject({
  body: v.optional(v.string("must be a string")),
  fsm_applied: v.optional(v.boolean("must be true or false")),
});

const VerifySchema = v.looseObject({
  body: v.optional(v.string("must be a string")),
  fsm_applied: v.optional(v.boolean("must be true or false")),
  reviewed_sha: v.optional(Sha),
  reviewed_base_sha: v.optional(Sha),
  // "" = no claim; treated like an absent origin.
  origin: v.optional(v.picklist(["", ...VERIFY_ORIGINS], `must be one of ${VERIFY_ORIGINS.join(", ")}`)),
});

const TaskFinishedSchema = v.looseObject({ wave_number: WholeAtLeastOne, task_number: WholeAtLeastOne });
const WaveSchema = v.looseObject({ wave_number: WholeAtLeastOne });
const DraftSchema = v.looseObject({
  planner_id: v.pipe(
    v.string("must be a string"),
    v.check((s) => s.trim() !== "", "must not be empty"),
  ),
});

type AnySchema = v.GenericSchema<unknown, unknown>;

function validate<S extends AnySchema>(type: SignalType, schema: S, value: unknown): { ok: true; value: v.InferOutput<S> } | { ok: false; error: string } {
  const r = v.safeParse(schema, value);
  if (r.success) return { ok: true, value: r.output };
  const issue = r.issues[0];
  const path = v.getDotPath(issue) ?? "payload";
  const what = issue.input === undefined ? "is required" : issue.message;
  return { ok: false, error: `${type} payload: ${path} ${what}` };
}

type JsonProbe = { kind: "object"; value: Record<string, unknown> } | { kind: "other_json" } | { kind: "text" } | { kind: "broken"; error: string };

/** Classify payload text. Text opening with "{" that fails to parse is an error, never silently wrapped. */
function probeJson(text: string): JsonProbe {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return { kind: "object", value: parsed as Record<string, unknown> };
    return { kind: "other_json" };
  } catch (err) {
    if (text.startsWith("{")) return { kind: "broken", error: err instanceof Error ? err.message : String(err) };
    return { kind: "text" };
  }
}

function wrapBody(text: string): string {
  return JSON.stringify({ body: text });
}

/**
 * Normalize an emitted payload for storage. Plain text becomes `{"body": text}`; JSON
 * objects are validated and kept. Divergence: for lifecycle types a JSON value that is not an object
 * (`42`, `"x"`, `[…]`) is treated as text and wrapped, so every stored lifecycle payload decodes.
 */
export function normalizePayload(type: SignalType, raw: string): { ok: true; payload: string } | { ok: false; error: string } {
  const text = raw.trim();
  const requireObject = (example: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } => {
    if (text === "") return { ok: false, error: `${type} requires a JSON payload like ${example}` };
    const p = probeJson(text);
    if (p.kind === "object") return { ok: true, value: p.value };
    if (p.kind === "broken") return { ok: false, error: `${type} payload is not valid JSON: ${p.error}` };
    return { ok: false, error: `${type} payload must be a JSON object like ${example}` };
  };

  switch (type) {
    case "plan_start":
    case "planner_finished":
    case "implement_start":
    case "implement_finished":
    case "review_approved":
    case "review_changes_requested":
    case "advance_wave":
    case "retry_wave": {
      if (text === "") return { ok: true, payload: "" };
      const p = probeJson(text);
      if (p.kind === "broken") return { ok: false, error: `${type} payload is not valid JSON: ${p.error}` };
      if (p.kind !== "object") return { ok: true, payload: wrapBody(text) };
      const r = validate(type, LifecycleSchema, p.value);
      return r.ok ? { ok: true, payload: text } : r;
    }
    case "verify_approved":
    case "verify_failed": {
      if (text === "") return { ok: true, payload: "" };
      const p = probeJson(text);
      if (p.kind === "text") return { ok: true, payload: wrapBody(text) };
      if (p.kind === "broken") return { ok: false, error: `${type} payload is not valid JSON: ${p.error}` };
      if (p.kind === "other_json") return { ok: false, error: `${type} payload must be a JSON object` };
      const r = validate(type, VerifySchema, p.value);
      return r.ok ? { ok: true, payload: text } : r;
    }
    case "implement_task_finished": {
      const o = requireObject('{"wave_number":1,"task_number":1}');
      if (!o.ok) return o;
      const r = validate(type, TaskFinishedSchema, o.value);
      return r.ok ? { ok: true, payload: text } : r;
    }
    case "implement_wave": {
      const o = requireObject('{"wave_number":1}');
      if (!o.ok) return o;
      const r = validate(type, WaveSchema, o.value);
      return r.ok ? { ok: true, payload: text } : r;
    }
    case "planner_draft_finished": {
      const o = requireObject('{"planner_id":"<profile>"}');
      if (!o.ok) return o;
      const r = validate(type, DraftSchema, o.value);
      // Re-serialized so the stored id is trimmed; extra fields ride along.
      return r.ok ? { ok: true, payload: JSON.stringify({ ...o.value, planner_id: r.value.planner_id.trim() }) } : r;
    }
    case "elaborator_finished":
      return text === "" ? { ok: true, payload: "" } : { ok: false, error: "elaborator_finished does not accept a payload" };
    default:
      return assertNever(type);
  }
}

export interface DecodedPayload {
  body: string;
  /** The FSM transition was already applied by the producer (HTTP admin); run side effects only. */
  fsmApplied: boolean;
  /** Claimed verification origin ("" = none); the processor decides whether to honour it. */
  origin: string;
  reviewedSha: string;
  reviewedBaseSha: string;
  waveNumber?: number;
  taskNumber?: number;
  plannerId?: string;
}

export function emptyPayload(): DecodedPayload {
  return { body: "", fsmApplied: false, origin: "", reviewedSha: "", reviewedBaseSha: "" };
}

/** Decode a stored payload. Malformed rows yield an error so the caller can fail them at once. */
export function decodePayload(type: SignalType, payload: string): { ok: true; payload: DecodedPayload } | { ok: false; error: string } {
  const text = payload.trim();
  const out = emptyPayload();
  const object = (): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } => {
    if (text === "") return { ok: false, error: `${type} payload is missing` };
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return { ok: true, value: parsed as Record<string, unknown> };
      return { ok: false, error: `${type} payload must be a JSON object` };
    } catch (err) {
      return { ok: false, error: `malformed ${type} payload JSON: ${err instanceof Error ? err.message : String(err)}` };
    }
  };

  switch (type) {
    case "plan_start":
    case "planner_finished":
    case "implement_start":
    case "implement_finished":
    case "review_approved":
    case "review_changes_requested":
    case "advance_wave":
    case "retry_wave": {
      if (text === "") return { ok: true, payload: out };
      const o = object();
      if (!o.ok) return o;
      const r = validate(type, LifecycleSchema, o.value);
      if (!r.ok) return r;
      return { ok: true, payload: { ...out, body: r.value.body ?? "", fsmApplied: r.value.fsm_applied ?? false } };
    }
    case "verify_approved":
    case "verify_failed": {
      if (text === "") return { ok: true, payload: out };
      const o = object();
      if (!o.ok) return o;
      const r = validate(type, VerifySchema, o.value);
      if (!r.ok) return r;
      return {
        ok: true,
        payload: {
          ...out,
          body: r.value.body ?? "",
          fsmApplied: r.value.fsm_applied ?? false,
          origin: r.value.origin ?? "",
          reviewedSha: r.value.reviewed_sha ?? "",
          reviewedBaseSha: r.value.reviewed_base_sha ?? "",
        },
      };
    }
    case "implement_task_finished": {
      const o = object();
      if (!o.ok) return o;
      const r = validate(type, TaskFinishedSchema, o.value);
      if (!r.ok) return r;
      return { ok: true, payload: { ...out, waveNumber: r.value.wave_number, taskNumber: r.value.task_number } };
    }
    case "implement_wave": {
      const o = object();
      if (!o.ok) return o;
      const r = validate(type, WaveSchema, o.value);
      if (!r.ok) return r;
      return { ok: true, payload: { ...out, waveNumber: r.value.wave_number } };
    }
    case "planner_draft_finished": {
      const o = object();
      if (!o.ok) return o;
      const r = validate(type, DraftSchema, o.value);
      if (!r.ok) return r;
      return { ok: true, payload: { ...out, plannerId: r.value.planner_id.trim() } };
    }
    case "elaborator_finished":
      return text === "" ? { ok: true, payload: out } : { ok: false, error: "elaborator_finished does not accept a payload" };
    default:
      return assertNever(type);
  }
}

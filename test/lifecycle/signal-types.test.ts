import { describe, expect, test } from "bun:test";
import {
  canonicalSignalType,
  decodePayload,
  emptyPayload,
  eventToSignalType,
  normalizePayload,
  signalTypeToEvent,
} from "../../src/lifecycle/signal-types.ts";
import { SIGNAL_TYPES, type SignalType } from "../../src/lifecycle/types.ts";

const SHA = "0123456789abcdef0123456789abcdef01234567";

/** The success branch of a result, or a thrown failure: no assertion hides behind an `if`. */
function okOf<R extends { ok: boolean }>(r: R): Extract<R, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got: ${JSON.stringify(r)}`);
  return r as Extract<R, { ok: true }>;
}

function errOf<R extends { ok: boolean }>(r: R): Extract<R, { ok: false }> {
  if (r.ok) throw new Error(`expected an error, got: ${JSON.stringify(r)}`);
  return r as Extract<R, { ok: false }>;
}

function norm(type: SignalType, raw: string): string {
  const r = normalizePayload(type, raw);
  if (!r.ok) throw new Error(`expected ok, got: ${r.error}`);
  return r.payload;
}

function normErr(type: SignalType, raw: string): string {
  const r = normalizePayload(type, raw);
  if (r.ok) throw new Error(`expected an error, got payload ${r.payload}`);
  return r.error;
}

describe("canonicalSignalType", () => {
  test("underscore and hyphen forms of every canonical type", () => {
    for (const t of SIGNAL_TYPES) {
      expect(canonicalSignalType(t)).toEqual({ ok: true, type: t });
      expect(canonicalSignalType(t.replaceAll("_", "-"))).toEqual({ ok: true, type: t });
    }
    expect(canonicalSignalType("  plan-start\n")).toEqual({ ok: true, type: "plan_start" });
  });

  test("aliases", () => {
    const aliases: [string, SignalType][] = [
      ["review_changes", "review_changes_requested"],
      ["review-changes", "review_changes_requested"],
      ["architect_finished", "elaborator_finished"],
      ["architect-finished", "elaborator_finished"],
      ["readiness_approved", "verify_approved"],
      ["readiness-approved", "verify_approved"],
      ["master_approved", "verify_approved"],
      ["master-approved", "verify_approved"],
      ["readiness_changes_requested", "verify_failed"],
      ["readiness-changes-requested", "verify_failed"],
      ["readiness_changes", "verify_failed"],
      ["readiness-changes", "verify_failed"],
    ];
    for (const [raw, type] of aliases) expect(canonicalSignalType(raw)).toEqual({ ok: true, type });
  });

  test("unknown type lists the valid ones", () => {
    const r = errOf(canonicalSignalType("cancel"));
    expect(r.error).toBe(`unknown signal type "cancel"; valid types: ${SIGNAL_TYPES.join(", ")}`);
    expect(r.error).toContain("verify_failed");
    expect(canonicalSignalType("").ok).toBe(false);
    expect(canonicalSignalType("request_review").ok).toBe(false);
  });
});

describe("signal type ↔ event", () => {
  test("FSM types map to events, orchestration types do not", () => {
    expect(signalTypeToEvent("plan_start")).toBe("plan_start");
    expect(signalTypeToEvent("review_changes_requested")).toBe("review_changes_requested");
    expect(signalTypeToEvent("verify_approved")).toBe("verify_approved");
    expect(signalTypeToEvent("verify_failed")).toBe("verify_failed");
    for (const t of ["implement_task_finished", "implement_wave", "elaborator_finished", "planner_draft_finished", "advance_wave", "retry_wave"] as const) {
      expect(signalTypeToEvent(t)).toBeNull();
    }
  });
  test("user-only events have no gateway type", () => {
    expect(eventToSignalType("planner_finished")).toBe("planner_finished");
    expect(eventToSignalType("review_changes_requested")).toBe("review_changes_requested");
    for (const e of ["request_review", "start_over", "reimplement", "cancel", "reopen", "mark_done"] as const) expect(eventToSignalType(e)).toBeNull();
  });
});

describe("normalizePayload table", () => {
  test("lifecycle types: empty, plain text wrapped, JSON object kept", () => {
    for (const t of ["plan_start", "planner_finished", "implement_start", "implement_finished", "review_approved", "review_changes_requested", "advance_wave", "retry_wave"] as const) {
      expect(norm(t, "")).toBe("");
      expect(norm(t, "  \n")).toBe("");
      expect(norm(t, "needs fixes")).toBe('{"body":"needs fixes"}');
      expect(norm(t, ' {"body":"x","fsm_applied":true,"extra":1} ')).toBe('{"body":"x","fsm_applied":true,"extra":1}');
    }
  });

  test("lifecycle: text that merely looks bracketed is wrapped; non-object JSON wrapped as text", () => {
    expect(norm("review_changes_requested", "[critical] src/a.ts:3 broken")).toBe('{"body":"[critical] src/a.ts:3 broken"}');
    expect(norm("review_approved", "42")).toBe('{"body":"42"}');
    expect(JSON.parse(norm("review_approved", 'say "hi"\nthen leave'))).toEqual({ body: 'say "hi"\nthen leave' });
  });

  test("lifecycle: broken JSON object and mistyped known fields are rejected", () => {
    expect(normErr("review_approved", '{"body": "x"')).toMatch(/^review_approved payload is not valid JSON: /);
    expect(normErr("planner_finished", '{"body": 3}')).toBe("planner_finished payload: body must be a string");
    expect(normErr("plan_start", '{"fsm_applied": "yes"}')).toBe("plan_start payload: fsm_applied must be true or false");
  });

  test("verify_*: empty, text, JSON with valid fields", () => {
    for (const t of ["verify_approved", "verify_failed"] as const) {
      expect(norm(t, "")).toBe("");
      expect(norm(t, "lgtm")).toBe('{"body":"lgtm"}');
      const full = JSON.stringify({ body: "ok", reviewed_sha: SHA, reviewed_base_sha: SHA, origin: "master" });
      expect(norm(t, full)).toBe(full);
      for (const origin of ["master", "operator", "force_promoted", "auto", ""]) expect(norm(t, JSON.stringify({ origin }))).toBe(JSON.stringify({ origin }));
    }
  });

  test("verify_*: alias types normalize the same way", () => {
    const r = okOf(canonicalSignalType("master-approved"));
    expect(norm(r.type, "lgtm")).toBe('{"body":"lgtm"}');
  });

  test("verify_*: bad SHAs, bad origin, non-object JSON", () => {
    expect(normErr("verify_approved", JSON.stringify({ reviewed_sha: SHA.toUpperCase() }))).toBe(
      "verify_approved payload: reviewed_sha must be 40 lowercase hex characters",
    );
    expect(normErr("verify_approved", JSON.stringify({ reviewed_sha: SHA.slice(0, 39) }))).toBe(
      "verify_approved payload: reviewed_sha must be 40 lowercase hex characters",
    );
    expect(normErr("verify_failed", JSON.stringify({ reviewed_base_sha: "abc" }))).toBe(
      "verify_failed payload: reviewed_base_sha must be 40 lowercase hex characters",
    );
    expect(normErr("verify_failed", JSON.stringify({ reviewed_sha: 12 }))).toBe("verify_failed payload: reviewed_sha must be a string");
    expect(normErr("verify_approved", JSON.stringify({ origin: "boss" }))).toBe(
      "verify_approved payload: origin must be one of master, operator, force_promoted, auto",
    );
    expect(normErr("verify_approved", "[1,2]")).toBe("verify_approved payload must be a JSON object");
    expect(normErr("verify_approved", "42")).toBe("verify_approved payload must be a JSON object");
  });

  test("implement_task_finished: whole numbers ≥ 1 required", () => {
    expect(norm("implement_task_finished", '{"wave_number":2,"task_number":3}')).toBe('{"wave_number":2,"task_number":3}');
    expect(norm("implement_task_finished", '{"wave_number":2.0,"task_number":3}')).toBe('{"wave_number":2.0,"task_number":3}');
    expect(normErr("implement_task_finished", "")).toMatch(/^implement_task_finished requires a JSON payload like /);
    expect(normErr("implement_task_finished", "done")).toMatch(/^implement_task_finished payload must be a JSON object/);
    expect(normErr("implement_task_finished", '{"wave_number":1}')).toBe("implement_task_finished payload: task_number is required");
    expect(normErr("implement_task_finished", '{"wave_number":1.5,"task_number":1}')).toBe("implement_task_finished payload: wave_number must be a whole number");
    expect(normErr("implement_task_finished", '{"wave_number":"1","task_number":1}')).toBe("implement_task_finished payload: wave_number must be a number");
    expect(normErr("implement_task_finished", '{"wave_number":1,"task_number":0}')).toBe("implement_task_finished payload: task_number must be ≥ 1");
  });

  test("implement_wave: whole wave_number ≥ 1 required", () => {
    expect(norm("implement_wave", '{"wave_number":3}')).toBe('{"wave_number":3}');
    expect(normErr("implement_wave", "")).toMatch(/^implement_wave requires a JSON payload/);
    expect(normErr("implement_wave", "3")).toMatch(/^implement_wave payload must be a JSON object/);
    expect(normErr("implement_wave", "{}")).toBe("implement_wave payload: wave_number is required");
    expect(normErr("implement_wave", '{"wave_number":0}')).toBe("implement_wave payload: wave_number must be ≥ 1");
    expect(normErr("implement_wave", '{"wave_number":-2}')).toBe("implement_wave payload: wave_number must be ≥ 1");
  });

  test("planner_draft_finished (#57)", () => {
    expect(normErr("planner_draft_finished", "")).toMatch(/requires a JSON payload/);
    expect(normErr("planner_draft_finished", "alpha")).toMatch(/must be a JSON object/);
    expect(normErr("planner_draft_finished", '["alpha"]')).toMatch(/must be a JSON object/);
    expect(normErr("planner_draft_finished", '{"planner_id":7}')).toBe("planner_draft_finished payload: planner_id must be a string");
    expect(normErr("planner_draft_finished", '{"planner_id":""}')).toBe("planner_draft_finished payload: planner_id must not be empty");
    expect(normErr("planner_draft_finished", '{"planner_id":"   "}')).toBe("planner_draft_finished payload: planner_id must not be empty");
    expect(norm("planner_draft_finished", '{"planner_id":"  alpha ","note":"x"}')).toBe('{"planner_id":"alpha","note":"x"}');
  });

  test("elaborator_finished accepts no payload", () => {
    expect(norm("elaborator_finished", "")).toBe("");
    expect(normErr("elaborator_finished", "done")).toBe("elaborator_finished does not accept a payload");
    expect(normErr("elaborator_finished", "{}")).toBe("elaborator_finished does not accept a payload");
  });
});

describe("decodePayload", () => {
  test("empty lifecycle payload decodes to an empty body", () => {
    expect(decodePayload("implement_finished", "")).toEqual({ ok: true, payload: emptyPayload() });
  });

  test("body and fsm_applied", () => {
    expect(decodePayload("review_changes_requested", '{"body":"fix it","fsm_applied":true}')).toEqual({
      ok: true,
      payload: { body: "fix it", fsmApplied: true, origin: "", reviewedSha: "", reviewedBaseSha: "" },
    });
  });

  test("verify fields", () => {
    const p = JSON.stringify({ body: "ok", origin: "master", reviewed_sha: SHA, reviewed_base_sha: SHA });
    expect(decodePayload("verify_approved", p)).toEqual({
      ok: true,
      payload: { body: "ok", fsmApplied: false, origin: "master", reviewedSha: SHA, reviewedBaseSha: SHA },
    });
  });

  test("wave, task and draft fields", () => {
    const t = decodePayload("implement_task_finished", '{"wave_number":2,"task_number":5}');
    expect(t.ok && t.payload.waveNumber === 2 && t.payload.taskNumber === 5).toBe(true);
    const w = decodePayload("implement_wave", '{"wave_number":4}');
    expect(w.ok && w.payload.waveNumber).toBe(4);
    const d = decodePayload("planner_draft_finished", '{"planner_id":" beta "}');
    expect(d.ok && d.payload.plannerId).toBe("beta");
    expect(decodePayload("elaborator_finished", "")).toEqual({ ok: true, payload: emptyPayload() });
  });

  test("malformed rows are errors", () => {
    const bad = errOf(decodePayload("review_approved", "not json"));
    expect(bad.error).toMatch(/^malformed review_approved payload JSON: /);
    expect(decodePayload("review_approved", "[1]")).toEqual({ ok: false, error: "review_approved payload must be a JSON object" });
    expect(decodePayload("implement_wave", "")).toEqual({ ok: false, error: "implement_wave payload is missing" });
    expect(decodePayload("implement_task_finished", '{"wave_number":1}')).toEqual({
      ok: false,
      error: "implement_task_finished payload: task_number is required",
    });
    expect(decodePayload("verify_approved", '{"reviewed_sha":"xyz"}').ok).toBe(false);
    expect(decodePayload("elaborator_finished", "x")).toEqual({ ok: false, error: "elaborator_finished does not accept a payload" });
  });

  test("everything normalizePayload accepts, decodePayload accepts (round trip)", () => {
    const samples: [SignalType, string][] = [
      ["review_approved", "Approved. Looks good."],
      ["review_changes_requested", "[minor] rename x"],
      ["verify_failed", "self-fix exceeded"],
      ["verify_approved", JSON.stringify({ reviewed_sha: SHA })],
      ["implement_task_finished", '{"wave_number":1,"task_number":2}'],
      ["planner_draft_finished", '{"planner_id":" p "}'],
      ["elaborator_finished", ""],
      ["plan_start", ""],
    ];
    for (const [type, raw] of samples) {
      const n = okOf(normalizePayload(type, raw));
      expect(decodePayload(type, n.payload).ok).toBe(true);
    }
    const wrapped = okOf(normalizePayload("review_approved", "  Approved. Looks good.  "));
    expect(decodePayload("review_approved", wrapped.payload)).toMatchObject({ ok: true, payload: { body: "Approved. Looks good." } });
  });
});

// Verification binding: an approval records the exact commit it verified, so what ships is what was
// verified (a later change to the branch makes the binding stale).
import { assertNever } from "./fsm.ts";
import type { Acc, BranchHead, VerificationRecord } from "./model.ts";
import type { VerifyOrigin } from "./signal-types.ts";

function short(sha: string): string {
  return sha.slice(0, 7);
}

function verifiedBy(origin: VerifyOrigin): string {
  switch (origin) {
    case "master":
      return "master";
    case "operator":
      return "operator";
    case "auto":
      return "reviewer"; // no readiness gate: the reviewer's approval is the verification
    case "force_promoted":
      return "daemon";
    default:
      return assertNever(origin);
  }
}

/** Operator/auto/force-promoted approvals bind to whatever HEAD is; unknown HEAD → unbound (null). */
export function bindToHead(head: BranchHead | null, origin: VerifyOrigin, now: string): VerificationRecord | null {
  if (head === null || head.sha.trim() === "") return null;
  return { sha: head.sha.trim().toLowerCase(), baseSha: head.baseSha.trim().toLowerCase(), by: verifiedBy(origin), at: now, origin };
}

/** A master approval is only valid for the exact commit it reviewed. */
export function bindMaster(
  reviewedSha: string,
  head: BranchHead | null,
  now: string,
): { ok: true; verification: VerificationRecord } | { ok: false; reason: string } {
  if (head === null) return { ok: false, reason: "unbound_verification: head resolver unavailable" };
  const headSha = head.sha.trim().toLowerCase();
  if (headSha === "") return { ok: false, reason: "head_unresolvable: branch HEAD could not be resolved" };
  if (reviewedSha === "") return { ok: false, reason: "unbound_master_approval: master approved without reviewed_sha" };
  if (reviewedSha.toLowerCase() !== headSha) {
    return { ok: false, reason: `stale_master_approval: master reviewed ${short(reviewedSha)} but head is ${short(headSha)}` };
  }
  return { ok: true, verification: { sha: headSha, baseSha: head.baseSha.trim().toLowerCase(), by: "master", at: now, origin: "master" } };
}

/** Side effects of reaching done through verification: binding, approval, PR. */
export function approve(acc: Acc, verification: VerificationRecord | null, origin: VerifyOrigin, body: string): void {
  acc.update.verification = verification;
  if (verification === null) acc.notes.push("verification unbound: branch HEAD unknown");
  acc.actions.push({ kind: "verify_approved", body, origin }, { kind: "create_pr", body });
}

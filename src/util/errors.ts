// The one base of the failures kasmos expects (bad input, a missing thing, a conflict, no daemon):
// each carries a code saying what kind of failure it is. The control API turns codes into HTTP
// statuses in one place (src/api/errors.ts); the CLI prints any of them as one line and exits 1.
export type ErrorCode = "invalid" | "not_found" | "conflict" | "not_allowed" | "too_large" | "too_many" | "unavailable";

export abstract class KasmosError extends Error {
  abstract readonly code: ErrorCode;
}

/** A refusal with its reason (a bad name, a missing task, a full queue), from a route or a use case. */
export class Refused extends KasmosError {
  override name = "Refused";
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

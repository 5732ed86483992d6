// How the control API answers a failure: {"error": "<one line>"} with the HTTP status of its code.
// The one place a KasmosError's code becomes a status; anything else is a 500.
import type { ErrorCode } from "../util/errors.ts";

export const HTTP_STATUS = {
  invalid: 400,
  not_found: 404,
  not_allowed: 405,
  conflict: 409,
  too_large: 413,
  too_many: 429,
  unavailable: 503,
} as const satisfies Record<ErrorCode, number>;

export type ErrorStatus = (typeof HTTP_STATUS)[ErrorCode];

/** Every error answer's body. */
export interface ErrorReply {
  error: string;
}

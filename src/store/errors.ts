// Typed store failures, so callers (CLI, HTTP API, processor) can map them without parsing messages.
import { KasmosError } from "../util/errors.ts";

export type StoreErrorCode = "conflict" | "not_found" | "invalid";

export class StoreError extends KasmosError {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.name = "StoreError";
    this.code = code;
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}

// Is stdout a terminal? process.stdout.isTTY would do, but touching process.stdout builds Node's
// stream machinery (~7 ms, a third of `kas daemon status`); libc's isatty through bun:ffi is free.
import { dlopen, FFIType } from "bun:ffi";

let cached: boolean | null = null;

export function stdoutIsTTY(): boolean {
  if (cached !== null) return cached;
  try {
    const lib = dlopen("libc.so.6", { isatty: { args: [FFIType.i32], returns: FFIType.i32 } });
    cached = lib.symbols.isatty(1) === 1;
    lib.close();
  } catch {
    cached = false; // no glibc: plain output
  }
  return cached;
}

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export function useColor(): boolean {
  return process.env.NO_COLOR === undefined && process.env.TERM !== "dumb" && stdoutIsTTY();
}

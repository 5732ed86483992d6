// Is stdout a terminal? process.stdout.isTTY would do, but touching process.stdout builds Node's
// stream machinery (~7 ms, a third of `kas daemon status`); libc's isatty through bun:ffi is free.
import { dlopen, FFIType } from "bun:ffi";

const cached = new Map<number, boolean>();

/** Is file descriptor `fd` (1 = stdout, 2 = stderr) a terminal? */
export function isTTY(fd: number): boolean {
  const known = cached.get(fd);
  if (known !== undefined) return known;
  let tty = false;
  try {
    const lib = dlopen("libc.so.6", { isatty: { args: [FFIType.i32], returns: FFIType.i32 } });
    tty = lib.symbols.isatty(fd) === 1;
    lib.close();
  } catch {
    tty = false; // no glibc: plain output
  }
  cached.set(fd, tty);
  return tty;
}

export function stdoutIsTTY(): boolean {
  return isTTY(1);
}

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export function useColor(fd = 1): boolean {
  return process.env.NO_COLOR === undefined && process.env.TERM !== "dumb" && isTTY(fd);
}

// Whether some process still holds a file open for writing — a signal body still being written
// (`{ echo Findings:; sleep 0.02; echo "1. …"; } > review-changes-t` writes its first line, then waits
// with the file open). Linux answers that in one call: a read lease (fcntl F_SETLEASE F_RDLCK) is
// refused with EAGAIN while any process has the file open for writing, and granted otherwise — then
// released at once. Measured ~35 µs per file (open, two fcntl, close); inotify's close-write would say
// the same but Bun's fs.watch does not expose it. Reached through bun:ffi (libc's fcntl).
//
// Taking a lease makes the kernel send SIGIO to its holder when a writer opens the file meanwhile (the
// writer waits until the lease is released, microseconds here); SIGIO's default action ends the
// process, so a no-op handler is installed before the first lease.
import { dlopen, FFIType, read } from "bun:ffi";
import { closeSync, constants, openSync } from "node:fs";

const F_SETLEASE = 1024;
const F_RDLCK = 0;
const F_UNLCK = 2;
const EAGAIN = 11;

interface Libc {
  fcntl: (fd: number, cmd: number, arg: number) => number;
  errno: () => number;
}

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (process.platform !== "linux") return null;
  try {
    const lib = dlopen("libc.so.6", {
      fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      __errno_location: { args: [], returns: FFIType.ptr },
    });
    process.on("SIGIO", () => undefined); // see the header: a lease break must not end the daemon
    return {
      fcntl: (fd, cmd, arg) => lib.symbols.fcntl(fd, cmd, arg),
      errno: () => {
        const p = lib.symbols.__errno_location();
        return p === null ? 0 : read.i32(p, 0);
      },
    };
  } catch {
    return null; // no glibc (musl, another OS): callers fall back to watching size and mtime
  }
}

/**
 * true = a process holds `path` open for writing; false = none does; null = cannot tell (no lease
 * support on this system or file system, a file of another account without CAP_LEASE, gone, a link).
 */
export function writerHoldsOpen(path: string): boolean | null {
  if (libc === undefined) libc = loadLibc();
  if (libc === null) return null;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    if (libc.fcntl(fd, F_SETLEASE, F_RDLCK) === 0) {
      libc.fcntl(fd, F_SETLEASE, F_UNLCK);
      return false;
    }
    return libc.errno() === EAGAIN ? true : null;
  } finally {
    closeSync(fd);
  }
}

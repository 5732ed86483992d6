// Reading a file a person or a repository controls: a regular file only (a link to /dev/zero or a FIFO
// would grow memory without end or block the process in open()), opened without blocking, bounded in size.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";

export const MAX_CONFIG_BYTES = 1024 * 1024;

export class BoundedReadError extends Error {
  override name = "BoundedReadError";
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * The text of `path` (links followed), or a BoundedReadError saying why not. Errors of open() itself
 * (ENOENT, EACCES, …) are thrown as they are, so callers can tell a missing file from a bad one.
 */
export function readBoundedText(path: string, maxBytes = MAX_CONFIG_BYTES, noFollow = false): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (noFollow ? constants.O_NOFOLLOW : 0));
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new BoundedReadError(`is ${kindOf(st)}, expected a regular file`);
    if (st.size > maxBytes) throw new BoundedReadError(`is too large (${st.size} bytes, the limit is ${maxBytes})`);
    // The size can change under us: read until EOF, but never past the limit.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new BoundedReadError(`is too large (over ${maxBytes} bytes)`);
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

// Bytes from one socket to another without losing any a full socket did not take: what `write` does
// not accept now waits for the target's drain. Shared by the daemon's network proxy and the bridge an
// agent runs inside its sandbox.
import type { Socket } from "bun";

export class SocketPipe {
  private pending: Uint8Array[] = [];
  private ending = false;

  constructor(private readonly to: Socket<unknown>) {}

  write(data: Uint8Array): void {
    if (this.pending.length > 0) {
      this.pending.push(data);
      return;
    }
    const n = this.to.write(data);
    if (n < data.length) this.pending.push(data.subarray(Math.max(n, 0)));
  }

  /** The target can take more (its drain handler). */
  drain(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const n = this.to.write(head);
      if (n < head.length) {
        this.pending[0] = head.subarray(Math.max(n, 0));
        return;
      }
      this.pending.shift();
    }
    if (this.ending) this.to.end();
  }

  /** The source ended: end the target once what waits is written. */
  end(): void {
    this.ending = true;
    if (this.pending.length === 0) this.to.end();
  }
}

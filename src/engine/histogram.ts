// The scan duration histogram: observed by the scan loop, reported by GET /v1/metrics (its own file
// so the scan loop does not import the metrics collector, which reads the daemon).

/** Upper bounds (seconds) of the scan duration histogram; +Inf is implicit. */
export const SCAN_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

/** A fixed-bucket histogram. `counts[i]` is per bucket (not cumulative); the last slot is the +Inf overflow. */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[] = SCAN_BUCKETS) {
    this.counts = new Array<number>(buckets.length + 1).fill(0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export interface HistogramData {
  buckets: readonly number[];
  counts: readonly number[];
  sum: number;
  count: number;
}

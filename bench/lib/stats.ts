import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';

/** Latency samples in an HDR histogram (microsecond resolution, up to 10 minutes). */
export class Latencies {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });

  /** Records one sample given in milliseconds. */
  add(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** The q-quantile (0–100) in milliseconds. */
  at(percentile: number): number {
    return this.histogram.getValueAtPercentile(percentile) / 1000;
  }

  summary(): { n: number; p50: number; p99: number; max: number } {
    return { n: this.count, p50: this.at(50), p99: this.at(99), max: this.histogram.maxValue / 1000 };
  }

  /** `p50 …, p99 …, max … ms (n …)`, for logs and a row's detail. */
  describe(): string {
    const s = this.summary();
    return `p50 ${s.p50.toFixed(2)}, p99 ${s.p99.toFixed(2)}, max ${s.max.toFixed(1)} ms (n ${s.n})`;
  }
}

/**
 * The sampling interval of prom-client's event-loop monitor (`nodejs_eventloop_lag_p99_seconds`).
 * Node's histogram records the whole time between two samples, so an idle loop reads about this
 * much: the delay proper is the reading less this interval.
 */
export const eventLoopSamplingMs = 10;

/** Event-loop delay p99 as prom-client reads it for our server, so a baseline reports it the same way. */
export function eventLoopDelay(): { p99Ms(): number; reset(): void } {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: eventLoopSamplingMs });
  histogram.enable();
  return {
    p99Ms: () => histogram.percentile(99) / 1e6,
    reset: () => histogram.reset(),
  };
}

/** The median of some figures (the mean of the middle two when their number is even). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

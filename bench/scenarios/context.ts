import type { Row } from '../lib/report';

/** What every scenario gets from the runner. */
export interface BenchContext {
  /** `--quick`: fewer samples and shorter steps, for a check that the rows come out (< 4 min in all, with the build). */
  quick: boolean;
  log(message: string): void;
}

export type Scenario = (context: BenchContext) => Promise<Row[]>;

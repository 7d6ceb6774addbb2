import { retryDelayMs } from '../../src/persistence/outbox-worker';

describe('outbox retries (persistence/outbox-worker.ts)', () => {
  it('wait from half to all of a delay that doubles with each attempt, up to the cap', () => {
    for (let i = 0; i < 200; i++) {
      const first = retryDelayMs(1_000, 1, 60_000);
      expect(first).toBeGreaterThanOrEqual(500);
      expect(first).toBeLessThanOrEqual(1_000);
      const fourth = retryDelayMs(1_000, 4, 60_000);
      expect(fourth).toBeGreaterThanOrEqual(4_000);
      expect(fourth).toBeLessThanOrEqual(8_000);
      const capped = retryDelayMs(1_000, 30, 60_000);
      expect(capped).toBeGreaterThanOrEqual(30_000);
      expect(capped).toBeLessThanOrEqual(60_000);
    }
  });
});

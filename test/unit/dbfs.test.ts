import { dbfs, levelIntervalMs, silenceDb } from '../../src/client/dbfs';

/**
 * The SDK's level computation (src/client/dbfs.ts): the RMS of a block of samples in dBFS,
 * within the contract's range [-127, 0] for `audio:level`.
 */

/** `periods` whole periods of a sine of `amplitude`, `perPeriod` samples each (like an AnalyserNode block). */
function sine(amplitude: number, periods = 16, perPeriod = 64): Float32Array {
  const samples = new Float32Array(periods * perPeriod);
  for (let i = 0; i < samples.length; i += 1) samples[i] = amplitude * Math.sin((2 * Math.PI * i) / perPeriod);
  return samples;
}

describe('dbfs', () => {
  it('reports digital silence as the contract floor, -127', () => {
    expect(silenceDb).toBe(-127);
    expect(dbfs(new Float32Array(1024))).toBe(-127);
    expect(dbfs([0, 0, 0])).toBe(-127);
  });

  it('reports an empty block as silence', () => {
    expect(dbfs([])).toBe(-127);
    expect(dbfs(new Float32Array(0))).toBe(-127);
  });

  it('a full-scale square wave is 0 dBFS', () => {
    const square = Array.from({ length: 1024 }, (_, i) => (i % 2 === 0 ? 1 : -1));
    expect(dbfs(square)).toBeCloseTo(0, 10);
    expect(dbfs(new Float32Array(256).fill(-1))).toBeCloseTo(0, 10);
  });

  it('a full-scale sine is -3.01 dBFS (its RMS is 1/√2)', () => {
    expect(dbfs(sine(1))).toBeCloseTo(20 * Math.log10(Math.SQRT1_2), 4);
    expect(dbfs(sine(1))).toBeCloseTo(-3.0103, 3);
  });

  it('a sine of amplitude 0.01 is -43.01 dBFS, below the default speaking threshold of -40', () => {
    expect(dbfs(sine(0.01))).toBeCloseTo(-43.0103, 3);
    // Halving the amplitude takes 6.02 dB off.
    expect(dbfs(sine(0.005)) - dbfs(sine(0.01))).toBeCloseTo(-6.0206, 3);
  });

  it('clamps to [-127, 0]: over-full-scale input reads 0, a vanishing one -127, NaN silence', () => {
    expect(dbfs([2, -2, 2, -2])).toBe(0); // +6 dB would be outside the contract
    expect(dbfs([1.5])).toBe(0);
    expect(dbfs(sine(1e-9))).toBe(-127); // about -183 dB
    expect(dbfs([1e-7, -1e-7])).toBe(-127); // -140 dB
    expect(dbfs([Number.NaN, 0.5])).toBe(-127);
    for (const amplitude of [1e-12, 1e-6, 1e-3, 0.1, 0.5, 1, 3, 100]) {
      const level = dbfs(sine(amplitude));
      expect(level).toBeGreaterThanOrEqual(-127);
      expect(level).toBeLessThanOrEqual(0);
    }
  });

  it('levelIntervalMs sends 10-20 levels a second, as the contract asks', () => {
    expect(1000 / levelIntervalMs).toBeGreaterThanOrEqual(10);
    expect(1000 / levelIntervalMs).toBeLessThanOrEqual(20);
  });
});

/** The quietest level the contract carries: digital silence is reported as this. */
export const silenceDb = -127;

/** The level of one block of samples (-1…1) in dBFS: the RMS in decibels relative to full scale. */
export function dbfs(samples: ArrayLike<number>): number {
  if (samples.length === 0) return silenceDb;
  let sum = 0;
  for (let i = 0; i < samples.length; i += 1) sum += samples[i]! * samples[i]!;
  const rms = Math.sqrt(sum / samples.length);
  return rms > 0 ? Math.max(silenceDb, Math.min(0, 20 * Math.log10(rms))) : silenceDb;
}

/** The contract asks for 10-20 levels a second; 15 keeps well inside both the rule and the rate limit. */
export const levelIntervalMs = 66;

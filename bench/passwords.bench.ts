import { hashPassword, verifyPassword } from '../src/auth/passwords';

/**
 * Cost of one password verification, serially and under concurrency (libuv's thread pool).
 * Run: npx tsx bench/passwords.bench.ts
 */
async function main(): Promise<void> {
  const stored = await hashPassword('correct horse battery');
  const serialRuns = 20;
  let start = process.hrtime.bigint();
  for (let i = 0; i < serialRuns; i++) await verifyPassword('correct horse battery', stored);
  const serialMs = Number(process.hrtime.bigint() - start) / 1e6 / serialRuns;

  const concurrent = 40;
  start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrent }, () => verifyPassword('wrong password', stored)));
  const perSecond = concurrent / (Number(process.hrtime.bigint() - start) / 1e9);

  console.log(`verifyPassword: ${serialMs.toFixed(1)} ms each (serial, n=${serialRuns}); ${perSecond.toFixed(1)}/s with ${concurrent} concurrent`);
}

void main();

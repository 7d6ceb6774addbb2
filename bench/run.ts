import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { chart, evaluate, table, writeFile, type Result, type Row } from './lib/report';
import { prepareDatabase, startRedis } from './lib/services';
import type { BenchContext, Scenario } from './scenarios/context';
import { idle } from './scenarios/idle';
import { failover } from './scenarios/failover';
import { fanout } from './scenarios/fanout';
import { fanoutSimulation } from './scenarios/fanout-sim';
import { latency } from './scenarios/latency';
import { levels } from './scenarios/levels';
import { rest } from './scenarios/rest';
import { scaling } from './scenarios/scaling';
import { sentinelFailover } from './scenarios/sentinel';
import { shards } from './scenarios/shards';
import { signaling } from './scenarios/signaling';
import { webhooks } from './scenarios/webhooks';

/**
 * `npm run bench [-- --quick] [-- --only=a,b1]`: runs every benchmark against our
 * nodes (built dist/, on the local PostgreSQL and Redis) and against its same-run baseline, then
 * prints one table and writes bench/results/latest.{json,svg}. See docs/performance.md.
 */
const scenarios: Record<string, Scenario> = {
  a: rest,
  b1: levels,
  b2c: latency,
  d: idle,
  e: failover,
  f: webhooks,
  g: scaling,
  'g.shards': shards,
  h: signaling,
  i: fanout,
  j: sentinelFailover,
  k: fanoutSimulation,
};

function machine() {
  const version = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8' }).trim().split('\n')[0]!;
    } catch {
      return 'unknown';
    }
  };
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: version('psql', ['--version']),
    redis: version('redis-server', ['--version']),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args
    .find((arg) => arg.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const started = Date.now();
  const context: BenchContext = { quick, log: (message) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${message}`) };
  await prepareDatabase();
  const stopRedis = await startRedis();
  const results: Result[] = [];
  let failed = false;
  for (const [name, scenario] of Object.entries(scenarios)) {
    if (only && !only.includes(name)) continue;
    try {
      const rows: Row[] = await scenario(context);
      results.push(...rows.map(evaluate));
    } catch (error) {
      failed = true;
      context.log(`(${name}) failed: ${error instanceof Error ? error.stack : String(error)}`);
    }
  }
  await stopRedis();
  const mode = quick ? 'quick' : 'full';
  const report = { mode, date: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000), machine: machine(), results };
  const out = resolve(__dirname, 'results');
  writeFile(`${out}/latest.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFile(
    `${out}/latest.svg`,
    chart(results, `npm run bench${quick ? ' -- --quick' : ''} · ${report.date.slice(0, 10)} · ${report.machine.cpus} × ${report.machine.cpu_model}`),
  );
  console.log(`\n${table(results)}\n`);
  for (const r of results) if (r.detail) console.log(`- ${r.benchmark}: ${r.detail}`);
  console.log(`\n${mode} run, ${report.seconds} s; written bench/results/latest.json and bench/results/latest.svg`);
  if (failed) process.exitCode = 1;
}

void main().then(() => process.exit());

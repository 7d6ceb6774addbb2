import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildOpenApiDocument } from '../../src/contract/openapi';
import { errorCatalog } from '../../src/contract/errors';
import {
  allLiveStateKeys,
  clusterMarkerKey,
  deadlineBucketKey,
  nodeKey,
  nodeRegistryKey,
  nodeRoomsKey,
  ownerKey,
  restoringKey,
} from '../../src/live-state/redis-keys';

/**
 * The pages under docs/ are where users read the wire contract, so they must not drift from the code
 * that defines it: every route of the OpenAPI document and every error code with its status has its
 * row in docs/api.md, every Socket.IO event of the event map in docs/realtime.md, every
 * configuration variable in docs/configuration.md (the webhooks' own in docs/webhooks.md), and every
 * Redis key in docs/operations.md. Each part is looked for in the page that holds it, not anywhere.
 */
const root = path.resolve(__dirname, '../..');
const source = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface Page {
  text: string;
  /** The first cell of every table row (`| `x` | …` → x), with the second cell. */
  rows: { first: string; second: string }[];
  firstCells: Set<string>;
}

function page(file: string): Page {
  const text = source(file);
  const rows = [...text.matchAll(/^\| `?([^|`]+?)`? \| ([^|]*)\|/gm)].map((match) => ({ first: match[1]!.trim(), second: match[2]!.trim() }));
  return { text, rows, firstCells: new Set(rows.map((row) => row.first)) };
}

const api = page('docs/api.md');
const realtime = page('docs/realtime.md');
const configuration = page('docs/configuration.md');
const webhooks = page('docs/webhooks.md');
const operations = page('docs/operations.md');

const configVariables = () => [...source('src/config/config.ts').matchAll(/^ {4}([A-Z][A-Z0-9_]+): /gm)].map((match) => match[1]!);

describe('the docs pages document the contract the code defines', () => {
  it('every REST route of the OpenAPI document, in docs/api.md', () => {
    const document = buildOpenApiDocument('test', {
      maxParticipantsLimit: 1000,
      speakerThresholdDb: { min: -70, max: -10 },
      speakerMinMs: { min: 100, max: 3000 },
    }) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(document.paths).flatMap(([route, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${route.replace(/^\/api\/v1/, '')}`),
    );
    const documented = new Set(
      [...api.text.matchAll(/^\| (GET|POST|PATCH|PUT|DELETE) \| `([^`?]+)/gm)].map((match) => `${match[1]} ${match[2]!.replace(/\/$/, '')}`),
    );
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.filter((route) => !documented.has(route.replace(/\/$/, '')))).toEqual([]);
  });

  it('every error code, with its HTTP status, in docs/api.md', () => {
    const statusOf = new Map(api.rows.map((row) => [row.first, row.second]));
    // A cell may add a note after the status: `403 (409 on remove)`.
    for (const [code, { status }] of Object.entries(errorCatalog)) expect([code, statusOf.get(code)?.split(' ')[0]]).toEqual([code, String(status)]);
  });

  it('every Socket.IO event of the event map, both ways, in docs/realtime.md', () => {
    const events = [...source('src/contract/events.ts').matchAll(/^\s+(?:\/\*\*.*\*\/\s+)?'([a-z]+:[a-z_]+)': \(/gm)].map((match) => match[1]!);
    expect(events).toEqual(expect.arrayContaining(['room:attach', 'audio:level', 'speaker:changed', 'room:ended']));
    expect(events.filter((event) => !realtime.firstCells.has(event))).toEqual([]);
  });

  it('every configuration variable, in docs/configuration.md (WEBHOOK_* in docs/webhooks.md)', () => {
    const variables = configVariables();
    expect(variables).toEqual(expect.arrayContaining(['PORT', 'REDIS_URL', 'WEB_CONCURRENCY', 'WEBHOOK_URL']));
    const pageOf = (variable: string) => (variable.startsWith('WEBHOOK_') ? webhooks : configuration);
    expect(variables.filter((variable) => !pageOf(variable).firstCells.has(variable))).toEqual([]);
  });

  it('every Redis key, as named with an empty REDIS_PREFIX, in docs/operations.md', () => {
    const keys = [
      ...allLiveStateKeys('', 'code'),
      ownerKey('', 'code'),
      nodeKey('', 'node_id'),
      nodeRoomsKey('', 'node_id'),
      nodeRegistryKey(''),
      deadlineBucketKey('', 'n'),
      clusterMarkerKey(''),
      restoringKey(''),
    ];
    expect(keys.length).toBeGreaterThan(10);
    expect(keys.filter((key) => !operations.firstCells.has(key))).toEqual([]);
  });

  it("the README's essential configuration names only real variables, with the defaults docs/configuration.md gives", () => {
    const variables = new Set(configVariables());
    const readme = source('README.md');
    const table = /^## Essential configuration\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
    const named = [...table.matchAll(/^\| ([^|]+) \| ([^|]*)\|/gm)]
      .filter((match) => match[1]!.startsWith('`'))
      .map((match) => ({ names: [...match[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((name) => name[1]!), defaultCell: match[2]!.trim() }));
    expect(named.length).toBeGreaterThanOrEqual(5);
    const defaults = new Map(configuration.rows.map((row) => [row.first, row.second]));
    for (const { names, defaultCell } of named) {
      expect(names.filter((name) => !variables.has(name))).toEqual([]);
      if (names.length === 1) expect([names[0], defaultCell]).toEqual([names[0], defaults.get(names[0]!)]);
    }
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildOpenApiDocument } from '../../src/contract/openapi';
import { errorCatalog } from '../../src/contract/errors';
import {
  allLiveStateKeys,
  clusterMarkerKey,
  deadlineIndexKey,
  nodeKey,
  nodeRegistryKey,
  nodeRoomsKey,
  ownerKey,
  restoringKey,
} from '../../src/live-state/redis-keys';

/**
 * The README is where users read the wire contract, so it must not drift from the code that
 * defines it: every route of the OpenAPI document, every error code with its status, every
 * Socket.IO event of the event map, every configuration variable and every Redis key has its
 * row in the README's tables.
 */
const root = path.resolve(__dirname, '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const source = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** The first cell of every table row in the README (`| `x` | …` → x), with the second cell. */
const rows = [...readme.matchAll(/^\| `?([^|`]+?)`? \| ([^|]*)\|/gm)].map((match) => ({ first: match[1]!.trim(), second: match[2]!.trim() }));
const firstCells = new Set(rows.map((row) => row.first));

describe('the README documents the contract the code defines', () => {
  it('every REST route of the OpenAPI document', () => {
    const document = buildOpenApiDocument('test', {
      maxParticipantsLimit: 1000,
      speakerThresholdDb: { min: -70, max: -10 },
      speakerMinMs: { min: 100, max: 3000 },
    }) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(document.paths).flatMap(([route, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${route.replace(/^\/api\/v1/, '')}`),
    );
    const documented = new Set(
      [...readme.matchAll(/^\| (GET|POST|PATCH|PUT|DELETE) \| `([^`?]+)/gm)].map((match) => `${match[1]} ${match[2]!.replace(/\/$/, '')}`),
    );
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.filter((route) => !documented.has(route.replace(/\/$/, '')))).toEqual([]);
  });

  it('every error code, with its HTTP status', () => {
    const statusOf = new Map(rows.map((row) => [row.first, row.second]));
    // A cell may add a note after the status: `403 (409 on remove)`.
    for (const [code, { status }] of Object.entries(errorCatalog)) expect([code, statusOf.get(code)?.split(' ')[0]]).toEqual([code, String(status)]);
  });

  it('every Socket.IO event of the event map, both ways', () => {
    const events = [...source('src/contract/events.ts').matchAll(/^\s+(?:\/\*\*.*\*\/\s+)?'([a-z]+:[a-z_]+)': \(/gm)].map((match) => match[1]!);
    expect(events).toEqual(expect.arrayContaining(['room:attach', 'audio:level', 'speaker:changed', 'room:ended']));
    expect(events.filter((event) => !firstCells.has(event))).toEqual([]);
  });

  it('every configuration variable', () => {
    const variables = [...source('src/config/config.ts').matchAll(/^ {4}([A-Z][A-Z0-9_]+): /gm)].map((match) => match[1]!);
    expect(variables).toEqual(expect.arrayContaining(['PORT', 'REDIS_URL', 'WEB_CONCURRENCY']));
    expect(variables.filter((variable) => !firstCells.has(variable))).toEqual([]);
  });

  it('every Redis key, as named with an empty REDIS_PREFIX', () => {
    const keys = [
      ...allLiveStateKeys('', '{code}'),
      ownerKey('', '{code}'),
      nodeKey('', '{node_id}'),
      nodeRoomsKey('', '{node_id}'),
      nodeRegistryKey(''),
      deadlineIndexKey(''),
      clusterMarkerKey(''),
      restoringKey(''),
    ];
    expect(keys.filter((key) => !firstCells.has(key))).toEqual([]);
  });
});

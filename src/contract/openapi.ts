import { z } from 'zod';
import { errorCatalog, type ErrorCode } from './errors';
import { components, operations, type Operation } from './openapi-routes';
import type { MeetingLimits } from './schemas';

/**
 * The OpenAPI 3.1 document of the REST API, generated from the same zod schemas that validate
 * requests (zod's own JSON Schema output, the dialect OpenAPI 3.1 uses), so the docs cannot
 * drift from what the server accepts. Served at /api/openapi.json, browsable at /api/docs.
 */

// OpenAPI 3.1's dialect is JSON Schema 2020-12 already, so each schema's `$schema` is dropped.
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const pathParameters = (path: string) =>
  [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: name === 'room_code' ? { type: 'string', pattern: '^[A-Za-z0-9_-]{12}$' } : { type: 'string', format: 'uuid' },
  }));

function queryParameters(query: z.ZodObject | undefined) {
  if (!query) return [];
  const schema = jsonSchema(query, 'input') as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    schema: property,
  }));
}

function toOpenApiOperation(path: string, op: Operation) {
  const codes = [...(op.body ? (['VALIDATION_FAILED', 'MALFORMED_JSON'] as const) : []), ...(op.auth ? (['UNAUTHENTICATED'] as const) : []), ...op.errors];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const entry of codes) {
    const [code, status] = typeof entry === 'string' ? [entry, errorCatalog[entry].status] : entry;
    if (!byStatus.get(status)?.includes(code)) byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return {
    tags: [op.tag],
    summary: op.summary,
    ...(op.auth ? { security: [{ bearer: [] }] } : {}),
    parameters: [...pathParameters(path), ...queryParameters(op.query)],
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body, 'input') } } } } : {}),
    responses: {
      [op.success.status]: { description: op.success.description, content: { 'application/json': { schema: ref(op.success.component) } } },
      ...Object.fromEntries(
        [...byStatus].map(([status, list]) => [status, { description: list.join(', '), content: { 'application/problem+json': { schema: ref('Problem') } } }]),
      ),
    },
  };
}

/** Builds the whole document; `version` is the package version, `limits` bound the room settings. */
export function buildOpenApiDocument(version: string, limits: MeetingLimits) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Meeting rooms API',
      version,
      description: 'Errors are application/problem+json with a stable `code`; docs/api.md in the project lists the catalog.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: Object.fromEntries(Object.entries(components).map(([name, schema]) => [name, jsonSchema(schema, 'output')])),
    },
    paths: Object.fromEntries(
      Object.entries(operations(limits)).map(([path, methods]) => [
        path,
        Object.fromEntries(Object.entries(methods).map(([method, op]) => [method, toOpenApiOperation(path, op)])),
      ]),
    ),
  };
}

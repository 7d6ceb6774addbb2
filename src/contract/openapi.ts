import { z } from 'zod';
import { errorCatalog, problemSchema, type ErrorCode } from './errors';
import { guestBody, loginBody, registerBody, sessionView, userView } from './schemas';

/**
 * The OpenAPI 3.1 document of the REST API, generated from the same zod schemas that validate
 * requests (zod's own JSON Schema output, the dialect OpenAPI 3.1 uses), so the docs cannot
 * drift from what the server accepts. Served at /api/openapi.json, browsable at /api/docs.
 */

interface Operation {
  summary: string;
  tag: string;
  /** Request body schema (validated input). */
  body?: z.ZodType;
  /** Whether the route needs `Authorization: Bearer`. */
  auth?: boolean;
  /** Success status and the component name of its body. */
  success: { status: number; component: keyof typeof components; description: string };
  /** Stable error codes this route may answer with, besides the validation ones. */
  errors: ErrorCode[];
}

const components = { Problem: problemSchema, User: userView, Session: sessionView } as const;

const operations: Record<string, Record<'get' | 'post' | 'patch', Operation>> = {} as never;
function route(method: 'get' | 'post' | 'patch', path: string, operation: Operation) {
  (operations[path] ??= {} as never)[method] = operation;
}

route('post', '/api/v1/auth/register', {
  tag: 'auth',
  summary: 'Create an account and a session',
  body: registerBody,
  success: { status: 201, component: 'Session', description: 'The new account and its session' },
  errors: ['EMAIL_TAKEN'],
});
route('post', '/api/v1/auth/login', {
  tag: 'auth',
  summary: 'Start a session with email and password',
  body: loginBody,
  success: { status: 200, component: 'Session', description: 'A new session' },
  errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED'],
});
route('post', '/api/v1/auth/guest', {
  tag: 'auth',
  summary: 'Create a guest account (display name only) and its session',
  body: guestBody,
  success: { status: 201, component: 'Session', description: 'The guest account and its session' },
  errors: [],
});
route('get', '/api/v1/auth/me', {
  tag: 'auth',
  summary: 'The account of the bearer token',
  auth: true,
  success: { status: 200, component: 'User', description: 'The caller' },
  errors: [],
});

// OpenAPI 3.1's dialect is JSON Schema 2020-12 already, so each schema's `$schema` is dropped.
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function toOpenApiOperation(op: Operation) {
  const codes: ErrorCode[] = [...(op.body ? (['VALIDATION_FAILED', 'MALFORMED_JSON'] as const) : []), ...(op.auth ? (['UNAUTHENTICATED'] as const) : []), ...op.errors];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(errorCatalog[code].status, [...(byStatus.get(errorCatalog[code].status) ?? []), code]);
  return {
    tags: [op.tag],
    summary: op.summary,
    ...(op.auth ? { security: [{ bearer: [] }] } : {}),
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body, 'input') } } } } : {}),
    responses: {
      [op.success.status]: { description: op.success.description, content: { 'application/json': { schema: ref(op.success.component) } } },
      ...Object.fromEntries(
        [...byStatus].map(([status, list]) => [status, { description: list.join(', '), content: { 'application/problem+json': { schema: ref('Problem') } } }]),
      ),
    },
  };
}

/** Builds the whole document; `version` is the package version. */
export function buildOpenApiDocument(version: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Meeting rooms API',
      version,
      description: 'Errors are application/problem+json with a stable `code`; the README lists the catalog.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: Object.fromEntries(Object.entries(components).map(([name, schema]) => [name, jsonSchema(schema, 'output')])),
    },
    paths: Object.fromEntries(
      Object.entries(operations).map(([path, methods]) => [path, Object.fromEntries(Object.entries(methods).map(([m, op]) => [m, toOpenApiOperation(op)]))]),
    ),
  };
}

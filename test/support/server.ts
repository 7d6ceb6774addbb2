import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import type { SessionView } from '../../src/contract/schemas';
import { testDatabaseUrl } from './env';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent verbatim, for malformed-body tests (bytes for bodies that are not UTF-8 text). */
  rawBody?: string | Uint8Array;
  token?: string;
  headers?: Record<string, string>;
  /** Aborts the request (e.g. `AbortSignal.timeout(ms)`): fetch then rejects. */
  signal?: AbortSignal;
}

/** Anything tests can talk to over HTTP and Socket.IO: an in-process server or a cluster node. */
export interface Endpoint {
  url: string;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
}

export interface TestServer extends Endpoint {
  app: App;
  close(): Promise<void>;
}

/** Starts a real server on a random port against the test database; `env` overrides the config. */
export async function startServer(env: Record<string, string> = {}, logger?: Logger): Promise<TestServer> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: testDatabaseUrl,
    MIGRATE_ON_START: 'false',
    ...env,
  });
  const app = await createApp({ ...config, databaseUrl: config.databaseUrl! }, logger ? { logger } : {});
  await new Promise<void>((resolve) => app.httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = app.httpServer.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    url,
    request: (method, path, options) => request(url, method, path, options),
    close: () => app.close(),
  };
}

/** One HTTP request with fetch; the body is parsed as JSON when the response says so. */
export async function request<T = any>(base: string, method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method, headers, body, signal: options.signal });
  const text = await response.text();
  const isJson = /json/.test(response.headers.get('content-type') ?? '');
  return { status: response.status, headers: response.headers, body: (isJson && text ? JSON.parse(text) : text) as T };
}

/** A fresh, unique email for one test's user. */
export const uniqueEmail = (label = 'user') => `${label}-${randomUUID()}@example.test`;

/** Registers a new user and returns the session, failing the test if registration fails. */
export async function registerUser(server: Endpoint, overrides: Partial<{ email: string; password: string; display_name: string }> = {}) {
  const credentials = { email: uniqueEmail(), password: 'correct horse battery', display_name: 'Test User', ...overrides };
  const response = await server.request<SessionView>('POST', '/api/v1/auth/register', { body: credentials });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { ...response.body, credentials };
}

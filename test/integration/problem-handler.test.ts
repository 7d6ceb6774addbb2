import type { AddressInfo } from 'node:net';
import { ConnectionException } from '@mikro-orm/core';
import express from 'express';
import pino from 'pino';
import { AppError } from '../../src/errors/app-error';
import { notFound, problemHandler } from '../../src/http/problem';
import { request } from '../support/server';

// The server's routes cannot be made to fail on purpose, so the one error handler is mounted
// here behind routes that throw, and driven over real HTTP.
describe('problem handler', () => {
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const app = express();
    app.get('/bug', () => {
      throw new Error('secret detail from deep inside: password=hunter2');
    });
    app.get('/async-bug', async () => {
      await Promise.resolve();
      throw new TypeError('cannot read properties of undefined');
    });
    app.get('/db-down', () => {
      throw new ConnectionException(new Error('connect ECONNREFUSED'));
    });
    app.get('/conflict', () => {
      throw new AppError('ROOM_FULL', 'The room has 20 participants');
    });
    app.use(notFound);
    app.use(problemHandler(pino({ level: 'silent' })));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });

  afterAll(() => close());

  it.each(['/bug', '/async-bug'])('answers an unexpected error on %s with 500 INTERNAL and no internals', async (path) => {
    const response = await request(base, 'GET', path);
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toEqual({
      type: 'urn:meeting-rooms:error:internal',
      title: 'Internal server error',
      status: 500,
      detail: 'Something went wrong on our side',
      code: 'INTERNAL',
    });
  });

  it('answers a lost database connection with 503 UNAVAILABLE', async () => {
    const response = await request(base, 'GET', '/db-down');
    expect(response.status).toBe(503);
    expect(response.body.code).toBe('UNAVAILABLE');
    expect(JSON.stringify(response.body)).not.toContain('ECONNREFUSED');
  });

  it('passes an AppError through with its code, status and detail', async () => {
    const response = await request(base, 'GET', '/conflict');
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'ROOM_FULL', status: 409, detail: 'The room has 20 participants', type: 'urn:meeting-rooms:error:room-full' });
  });
});

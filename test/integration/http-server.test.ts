import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createHttpServer } from '../../src/http/http-app';
import { request } from '../support/server';

describe('the HTTP server', () => {
  it("makes each request and response with the app's prototypes before Express sees them, and Express still serves them", async () => {
    const app = express();
    app.get('/hello/:name', (req, res) => void res.json({ hello: req.params.name, query: req.query, ip: req.ip }));
    const server = createHttpServer(app);
    const seen: { request: unknown; response: unknown }[] = [];
    // Runs before the app: what Node made, before Express sets the prototypes itself.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      seen.push({ request: Object.getPrototypeOf(req), response: Object.getPrototypeOf(res) });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const response = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'GET', '/hello/ada?x=1');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ hello: 'ada', query: { x: '1' }, ip: '127.0.0.1' });
      expect(seen).toEqual([{ request: app.request, response: app.response }]);
    } finally {
      server.close();
    }
  });
});

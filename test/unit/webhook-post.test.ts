import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signWebhook } from '../../src/webhooks/signature';
import { createWebhookPoster, type WebhookPoster } from '../../src/webhooks/webhook-post';

const body = JSON.stringify({ id: 'e1', type: 'room.created', created_at: '2026-12-03T10:00:00.000Z', room_code: 'AbCdEfGhIjKl', data: {} });
const headers = signWebhook('a-webhook-secret-of-enough-length', 'e1', body, 1_796_300_000);

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  remotePort: number | undefined;
}

describe('the POST of a webhook attempt (node:http, keep-alive)', () => {
  let server: Server;
  let url: string;
  let answer: (res: ServerResponse) => void;
  let received: Received[];
  let poster: WebhookPoster;

  beforeEach(async () => {
    received = [];
    answer = (res) => res.writeHead(200).end('ok');
    server = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (text += chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: text, remotePort: req.socket.remotePort });
        answer(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    poster = createWebhookPoster(300);
  });

  afterEach(async () => {
    poster.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('posts the body with its signature headers, and reuses the connection for the next attempt', async () => {
    expect(await poster.post(url, headers, body)).toBeNull();
    expect(await poster.post(url, headers, body)).toBeNull();
    expect(received).toHaveLength(2);
    expect(received[0]!.body).toBe(body);
    expect(received[0]!.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'meeting-rooms-webhooks', ...headers });
    expect(received[1]!.remotePort).toBe(received[0]!.remotePort);
  });

  it('counts an answer other than 2xx as a failure, and does not follow a redirect', async () => {
    answer = (res) => res.writeHead(302, { location: `${url}/elsewhere` }).end();
    expect(await poster.post(url, headers, body)).toBe('answered 302');
    answer = (res) => res.writeHead(500).end();
    expect(await poster.post(url, headers, body)).toBe('answered 500');
    expect(received).toHaveLength(2);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    answer = () => undefined;
    expect(await poster.post(url, headers, body)).toBe('no answer within 300 ms');
  });

  it('names the connection error when nobody listens', async () => {
    const closed = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(poster.post(closed, headers, body)).resolves.toMatch(/ECONNREFUSED/);
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
});

import { testRedisUrl } from '../support/env';
import { startServer, uniqueEmail } from '../support/server';

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, then refuses connections and releases PostgreSQL and Redis', async () => {
    const server = await startServer({ REDIS_URL: testRedisUrl });
    await new Promise<void>((resolve) => (server.app.redis!.status === 'ready' ? resolve() : server.app.redis!.once('ready', () => resolve())));

    // A login spends ~180 ms in scrypt, so it is still running when shutdown begins: shutdown
    // starts once the server has the request (a fixed sleep raced the connect on a busy machine).
    const received = new Promise((resolve) => server.app.httpServer.once('request', resolve));
    const inFlight = server.request('POST', '/api/v1/auth/login', { body: { email: uniqueEmail(), password: 'some password' } });
    await received;
    const closed = server.close();

    const response = await inFlight;
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('INVALID_CREDENTIALS');

    await closed;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    await expect(server.app.orm.isConnected()).resolves.toBe(false);
    expect(server.app.redis!.status).toBe('end');
    // Closing twice is harmless.
    await expect(server.close()).resolves.toBeUndefined();
  });
});

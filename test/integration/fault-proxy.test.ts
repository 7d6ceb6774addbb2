import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';

/** The partition suite's proxy (test/support/fault-proxy.ts) against an echo server: each fault does what it says. */
describe('the fault-injecting proxy', () => {
  let echo: Server;
  let proxy: FaultProxy;

  beforeEach(async () => {
    echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    proxy = await startFaultProxy((echo.address() as { port: number }).port);
  });

  afterEach(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  });

  /** A client of the echo server through the proxy, and everything it received so far. */
  async function client(): Promise<{ socket: Socket; received: () => string; closed: Promise<unknown> }> {
    const socket = connect(proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await once(socket, 'connect');
    return { socket, received: () => received, closed };
  }

  async function echoed(c: { received: () => string }, text: string, timeoutMs = 2000): Promise<boolean> {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(10)) if (c.received().includes(text)) return true;
    return false;
  }

  it('passes bytes both ways', async () => {
    const c = await client();
    c.socket.write('hello');
    expect(await echoed(c, 'hello')).toBe(true);
    c.socket.destroy();
  });

  it('holds bytes while blackholed, on open and new connections, and delivers them on heal', async () => {
    const before = await client();
    proxy.blackhole();
    const during = await client();
    before.socket.write('one');
    during.socket.write('two');
    expect(await echoed(before, 'one', 300)).toBe(false);
    expect(await echoed(during, 'two', 10)).toBe(false);
    proxy.heal();
    expect(await echoed(before, 'one')).toBe(true);
    expect(await echoed(during, 'two')).toBe(true);
    before.socket.destroy();
    during.socket.destroy();
  });

  it('resets open connections and new ones while refusing, and passes again on heal', async () => {
    const before = await client();
    proxy.refuse();
    await before.closed;
    // A new connection is reset: connecting fails, or the connection closes before any byte.
    const during = connect(proxy.port, '127.0.0.1');
    const failed = await new Promise<boolean>((resolve) => {
      during.on('error', () => resolve(true));
      during.on('data', () => resolve(false));
      during.on('close', () => resolve(true));
    });
    expect(failed).toBe(true);
    proxy.heal();
    const after = await client();
    after.socket.write('back');
    expect(await echoed(after, 'back')).toBe(true);
    after.socket.destroy();
  });

  it('cuts open connections once and lets new ones through', async () => {
    const before = await client();
    proxy.cut();
    await before.closed;
    const after = await client();
    after.socket.write('again');
    expect(await echoed(after, 'again')).toBe(true);
    after.socket.destroy();
  });

  it('delays every chunk, keeping them in order', async () => {
    const c = await client();
    proxy.delay(150);
    const sent = Date.now();
    for (const part of ['a', 'b', 'c']) c.socket.write(part);
    expect(await echoed(c, 'abc')).toBe(true);
    // Both ways: at least twice the delay for the round trip.
    expect(Date.now() - sent).toBeGreaterThanOrEqual(290);
    c.socket.destroy();
  });

  it('keeps the bytes in order when the delay is lifted while chunks still wait, however late its timers run', async () => {
    const c = await client();
    // A busy process: each echo it receives holds the event loop 3 ms, so the proxy's timers run
    // late, while new chunks keep coming in the same turn of the loop.
    c.socket.on('data', () => {
      for (const until = Date.now() + 3; Date.now() < until;);
    });
    let sent = '';
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 0) proxy.delay(2);
      else if (i % 10 === 5) proxy.heal();
      sent += `${i},`;
      c.socket.write(`${i},`);
      await sleep(1);
    }
    expect(await echoed(c, sent, 5000)).toBe(true);
    expect(c.received()).toBe(sent);
    c.socket.destroy();
  });
});

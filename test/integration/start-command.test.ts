import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../support/server';

// The README's start command, exactly as a newcomer runs it: `npm start` with no configuration,
// so the server builds, starts an embedded PostgreSQL under .data/ and listens. Then Ctrl-C.
const projectRoot = join(__dirname, '..', '..');
const startTimeoutMs = 150_000;

describe('npm start with nothing configured', () => {
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(() => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });

  it(
    'comes up in single-node mode on an embedded PostgreSQL, serves, and stops cleanly on Ctrl-C',
    async () => {
      child = spawn('npm', ['start'], {
        cwd: projectRoot,
        // A fresh machine: no DATABASE_URL, no REDIS_URL, no JWT_SECRET. PORT=0 only to avoid clashes.
        env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0' },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (chunk) => (output += chunk));
      child.stderr!.on('data', (chunk) => (output += chunk));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child!.once('exit', (code, signal) => resolve({ code, signal })),
      );

      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), startTimeoutMs);
        const poll = setInterval(() => {
          const match = /"url":"(http:\/\/localhost:\d+)"/.exec(output);
          if (match) {
            clearTimeout(timer);
            clearInterval(poll);
            resolve(match[1]!);
          }
        }, 100);
        void exited.then(({ code }) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
      });

      expect(output).toContain('single node');
      expect(output).toContain('embedded PostgreSQL');
      expect(output).toContain('JWT_SECRET is not set');

      expect((await request(url, 'GET', '/healthz')).status).toBe(200);
      const ready = await request(url, 'GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.checks).toEqual({ postgres: 'ok' });
      const guest = await request(url, 'POST', '/api/v1/auth/guest', { body: { display_name: 'Newcomer' } });
      expect(guest.status).toBe(201);
      expect((await request(url, 'GET', '/api/v1/auth/me', { token: guest.body.access_token })).status).toBe(200);

      // Ctrl-C: SIGINT to the whole process group (npm, node and the embedded postgres).
      process.kill(-child.pid!, 'SIGINT');
      // npm re-raises SIGINT on itself after its child is done; the server's own exit code is logged.
      const { code, signal } = await exited;
      expect(code === 0 || signal === 'SIGINT').toBe(true);
      expect(output).toMatch(/"exit_code":0,"msg":"stopped"/);
      expect(existsSync(join(projectRoot, '.data', 'postgres', 'postmaster.pid'))).toBe(false);
    },
    startTimeoutMs + 30_000,
  );
});

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, uniqueEmail } from '../support/server';

// The start command of README "Quick start", exactly as a newcomer runs it: `npm start` with no configuration,
// so the server builds, starts an embedded PostgreSQL under .data/ and listens. Then Ctrl-C.
const projectRoot = join(__dirname, '..', '..');
const clusterDir = join(projectRoot, '.data', 'postgres');
const startTimeoutMs = 150_000;

interface Started {
  url: string;
  output: () => string;
  /** Ctrl-C: SIGINT to the whole process group (npm, node and the embedded postgres). */
  interrupt(): Promise<void>;
}

const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) {
    if (child.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
});

async function npmStart(): Promise<Started> {
  const child = spawn('npm', ['start'], {
    cwd: projectRoot,
    // A fresh machine: no DATABASE_URL, no REDIS_URL, no JWT_SECRET. PORT=0 only to avoid clashes.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
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
    void exited.then(({ code }) => {
      // Stopped either way: a timer left running would keep jest from exiting after a failure.
      clearTimeout(timer);
      clearInterval(poll);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    async interrupt() {
      process.kill(-child.pid!, 'SIGINT');
      // npm re-raises SIGINT on itself after its child is done; the server's own exit code is logged.
      const { code, signal } = await exited;
      expect(code === 0 || signal === 'SIGINT').toBe(true);
      expect(output).toMatch(/"exit_code":0,"msg":"stopped"/);
    },
  };
}

describe('npm start with nothing configured', () => {
  it(
    'comes up in single-node mode on an embedded PostgreSQL, serves, stops cleanly on Ctrl-C, and starts again over a stale lock',
    async () => {
      const first = await npmStart();
      expect(first.output()).toContain('single node');
      expect(first.output()).toContain('embedded PostgreSQL');
      expect(first.output()).toContain('JWT_SECRET is not set');

      expect((await request(first.url, 'GET', '/healthz')).status).toBe(200);
      const ready = await request(first.url, 'GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.checks).toEqual({ postgres: 'ok' });
      const guest = await request(first.url, 'POST', '/api/v1/auth/guest', { body: { display_name: 'Newcomer' } });
      expect(guest.status).toBe(201);
      expect((await request(first.url, 'GET', '/api/v1/auth/me', { token: guest.body.access_token })).status).toBe(200);
      const account = { email: uniqueEmail('newcomer'), password: 'correct horse battery', display_name: 'Newcomer' };
      expect((await request(first.url, 'POST', '/api/v1/auth/register', { body: account })).status).toBe(201);
      // The build npm start ran made the meeting page: its HTML and the script it names are served.
      const page = await request(first.url, 'GET', '/');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const script = /src="(\/assets\/main-[^"]+\.js)"/.exec(page.body as string)?.[1];
      expect(script).toBeDefined();
      expect((await request(first.url, 'GET', script!)).status).toBe(200);

      await first.interrupt();
      expect(existsSync(join(clusterDir, 'postmaster.pid'))).toBe(false);

      // What a reboot or an OOM kill leaves behind: a lock file naming a process that is gone.
      mkdirSync(clusterDir, { recursive: true });
      writeFileSync(join(clusterDir, 'postmaster.pid'), `99999999\n${clusterDir}\n`);
      const second = await npmStart();
      // The data survived the restart: the account made by the first run logs in.
      const login = await request(second.url, 'POST', '/api/v1/auth/login', { body: { email: account.email, password: account.password } });
      expect(login.status).toBe(200);
      expect(login.body.user.email).toBe(account.email);
      await second.interrupt();
    },
    2 * startTimeoutMs + 30_000,
  );
});

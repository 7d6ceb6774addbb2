import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports';

/**
 * Debian's coturn on a loopback port of the test's own, checking credentials with
 * `use-auth-secret` as docs/calls.md configures it; and the smallest TURN client that asks it
 * for a relay (an Allocate, RFC 8656) with such credentials.
 */
export interface TurnServer {
  port: number;
  realm: string;
  close(): Promise<void>;
}

export interface TurnOptions {
  /**
   * Relay to peers on 127.x.x.x (coturn refuses them by default, and a deployment must keep it so):
   * on this loopback-only machine the browsers' relays and candidates are all there.
   */
  allowLoopbackPeers?: boolean;
}

export async function startTurnServer(secret: string, options: TurnOptions = {}): Promise<TurnServer> {
  const port = await freePort();
  const realm = 'meeting-rooms.test';
  const dir = mkdtempSync(join(tmpdir(), 'turn-'));
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      `--realm=${realm}`,
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      `--pidfile=${join(dir, 'turnserver.pid')}`,
      '--log-file=stdout',
      '--simple-log',
      ...(options.allowLoopbackPeers ? ['--allow-loopback-peers'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  // Ready once it answers a STUN binding request.
  for (let attempt = 0; ; attempt++) {
    const answer = await withSocket((socket) => transact(socket, port, stunMessage(0x0001, randomBytes(12), []), 200)).catch(() => undefined);
    if (answer?.type === 0x0101) break;
    if (attempt > 50 || child.exitCode !== null) throw new Error(`turnserver did not start on ${port}:\n${output}`);
    await sleep(100);
  }
  return {
    port,
    realm,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Asks the TURN server for a UDP relay with these long-term credentials: 'allocated' when it
 * gives one, else the error code it answers (401: the credentials are refused).
 */
export function allocate(port: number, username: string, password: string): Promise<'allocated' | number> {
  // One socket for both requests: the server's nonce holds for the address it was given to.
  return withSocket((socket) => allocateOn(socket, port, username, password));
}

async function allocateOn(socket: Socket, port: number, username: string, password: string): Promise<'allocated' | number> {
  const transport: Attribute = [requestedTransport, Buffer.from([17, 0, 0, 0])];
  const challenge = await transact(socket, port, stunMessage(allocateRequest, randomBytes(12), [transport]));
  const realm = challenge.attributes.get(realmAttribute);
  const nonce = challenge.attributes.get(nonceAttribute);
  if (challenge.type !== allocateError || !realm || !nonce) throw new Error(`expected a 401 challenge, got type ${challenge.type.toString(16)}`);
  const key = createHash('md5').update(`${username}:${realm.toString()}:${password}`).digest();
  const attributes: Attribute[] = [transport, [usernameAttribute, Buffer.from(username)], [realmAttribute, realm], [nonceAttribute, nonce]];
  const answer = await transact(socket, port, stunMessage(allocateRequest, randomBytes(12), attributes, key));
  if (answer.type === allocateSuccess) return 'allocated';
  const error = answer.attributes.get(errorCodeAttribute);
  return error ? error[2]! * 100 + error[3]! : -1;
}

type Attribute = [type: number, value: Buffer];

const magicCookie = 0x2112a442;
const allocateRequest = 0x0003;
const allocateSuccess = 0x0103;
const allocateError = 0x0113;
const usernameAttribute = 0x0006;
const integrityAttribute = 0x0008;
const errorCodeAttribute = 0x0009;
const realmAttribute = 0x0014;
const nonceAttribute = 0x0015;
const requestedTransport = 0x0019;

function encodeAttribute([type, value]: Attribute): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** A STUN message; with a key, MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to it) last. */
function stunMessage(type: number, transactionId: Buffer, attributes: Attribute[], key?: Buffer): Buffer {
  const body = Buffer.concat(attributes.map(encodeAttribute));
  const header = (length: number) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(type, 0);
    h.writeUInt16BE(length, 2);
    h.writeUInt32BE(magicCookie, 4);
    transactionId.copy(h, 8);
    return h;
  };
  if (!key) return Buffer.concat([header(body.length), body]);
  const length = body.length + 24;
  const integrity = createHmac('sha1', key)
    .update(Buffer.concat([header(length), body]))
    .digest();
  return Buffer.concat([header(length), body, encodeAttribute([integrityAttribute, integrity])]);
}

async function withSocket<T>(use: (socket: Socket) => Promise<T>): Promise<T> {
  const socket = createSocket('udp4');
  try {
    return await use(socket);
  } finally {
    socket.close();
  }
}

/** Sends one message over UDP and parses the first answer. */
async function transact(socket: Socket, port: number, message: Buffer, timeoutMs = 2000): Promise<{ type: number; attributes: Map<number, Buffer> }> {
  const answered = once(socket, 'message') as Promise<[Buffer]>;
  socket.send(message, port, '127.0.0.1');
  const timer = new AbortController();
  const [reply] = await Promise.race([
    answered,
    sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => Promise.reject(new Error('no answer from the TURN server'))),
  ]).finally(() => timer.abort());
  const attributes = new Map<number, Buffer>();
  for (let at = 20; at + 4 <= reply.length;) {
    const type = reply.readUInt16BE(at);
    const length = reply.readUInt16BE(at + 2);
    attributes.set(type, reply.subarray(at + 4, at + 4 + length));
    at += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { type: reply.readUInt16BE(0), attributes };
}

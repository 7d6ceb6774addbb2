import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookEvent } from '../../src/webhooks/webhook-events';

/** One POST the receiver got, and what it answered (`hung` when it never did). */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: WebhookEvent;
  answer: number | 'hung';
}

/** How the receiver answers an event: a status, a status after a delay (a slow receiver), or `hang` to never answer. */
export type Answer = (event: WebhookEvent, received: Received[]) => number | { status: number; afterMs: number } | 'hang';

/**
 * A product's backend as the tests play it: a real HTTP server that records every webhook POST
 * and answers as `answer` says (200 unless told otherwise).
 */
export interface WebhookReceiver {
  url: string;
  received: Received[];
  answer: Answer;
  /** The events answered 2xx for one room, in the order they arrived. */
  acknowledged(roomCode: string): WebhookEvent[];
  /** Resolves once `check` holds on what was received (polling), or fails after `timeoutMs`. */
  until(check: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const hanging = new Set<() => void>();
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    answer: () => 200,
    acknowledged: (roomCode) =>
      receiver.received.filter((r) => r.event.room_code === roomCode && typeof r.answer === 'number' && r.answer < 300).map((r) => r.event),
    async until(check, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(receiver.received)) {
        if (Date.now() > deadline)
          throw new Error(
            `webhook receiver: condition not met in ${timeoutMs} ms; got ${receiver.received.map((r) => `${r.event.type}:${r.answer}`).join(', ')}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async close() {
      for (const release of hanging) release();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const entry: Received = { headers: req.headers, body, event: JSON.parse(body) as WebhookEvent, answer: 'hung' };
      const answer = receiver.answer(entry.event, receiver.received);
      receiver.received.push(entry);
      if (answer === 'hang') {
        const release = () => res.destroy();
        hanging.add(release);
        res.on('close', () => hanging.delete(release));
        return;
      }
      const { status, afterMs } = typeof answer === 'number' ? { status: answer, afterMs: 0 } : answer;
      const reply = () => {
        entry.answer = status;
        res.writeHead(status).end();
      };
      if (afterMs > 0) setTimeout(reply, afterMs);
      else reply();
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

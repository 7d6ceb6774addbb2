import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { SignedHeaders } from './signature';

/**
 * The POST of one webhook attempt, on node:http(s) with one keep-alive agent per endpoint (each
 * endpoint is one origin's connections, reused from one attempt to the next). Cheaper per
 * attempt than the global `fetch`, which (f) in docs/performance.md measured. Redirects are not
 * followed: a 3xx is an answer other than 2xx, so a failure.
 */
export interface WebhookPoster {
  /** Posts `body` with `headers`; null when the endpoint answered 2xx within the timeout, else why not. */
  post(endpoint: string, headers: SignedHeaders, body: string): Promise<string | null>;
  /** Closes the kept-alive connections (once no attempt is in flight). */
  close(): void;
}

/** An idle kept-alive connection is closed after this long, before a receiver's own idle timeout (Node's default is 5 s) can close it under a new request. */
const idleConnectionMs = 4_000;

interface Target {
  url: URL;
  agent: HttpAgent;
  send: (url: URL, options: RequestOptions) => ClientRequest;
}

export function createWebhookPoster(timeoutMs: number): WebhookPoster {
  const targets = new Map<string, Target>();

  function targetOf(endpoint: string): Target {
    let target = targets.get(endpoint);
    if (!target) {
      const url = new URL(endpoint);
      const https = url.protocol === 'https:';
      const agent = https ? new HttpsAgent({ keepAlive: true, timeout: idleConnectionMs }) : new HttpAgent({ keepAlive: true, timeout: idleConnectionMs });
      target = { url, agent, send: https ? httpsRequest : httpRequest };
      targets.set(endpoint, target);
    }
    return target;
  }

  function post(endpoint: string, headers: SignedHeaders, body: string): Promise<string | null> {
    const { url, agent, send } = targetOf(endpoint);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (failure: string | null) => {
        if (settled) return;
        settled = true;
        resolve(failure);
      };
      const request = send(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'user-agent': 'meeting-rooms-webhooks', ...headers } });
      // The timeout covers the whole exchange; past it the connection is dropped, so a late answer cannot count.
      const timer = setTimeout(() => {
        settle(`no answer within ${timeoutMs} ms`);
        request.destroy();
      }, timeoutMs);
      request.on('response', (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        settle(status >= 200 && status <= 299 ? null : `answered ${status}`);
        // The answer's body is read and dropped, so that the connection can carry the next attempt.
        response.on('error', (error: Error) => settle(String(error)));
        response.on('close', () => clearTimeout(timer));
        response.resume();
      });
      request.on('error', (error: Error) => {
        clearTimeout(timer);
        settle(String(error));
      });
      request.end(body);
    });
  }

  return {
    post,
    close() {
      for (const { agent } of targets.values()) agent.destroy();
      targets.clear();
    },
  };
}

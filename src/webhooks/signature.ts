import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures in the scheme of the Standard Webhooks specification: the headers
 * `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, which is
 * `v1,{base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")}` (several, space-separated, while
 * a secret is being rotated). A secret written `whsec_{base64}` is that key, as Standard Webhooks
 * libraries expect; any other secret is its own UTF-8 bytes. No dependencies beyond node:crypto,
 * so a receiver can import this file alone.
 */

/** How far a timestamp may be from the receiver's clock before the message counts as a replay. */
export const defaultToleranceS = 5 * 60;

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
}

const keyOf = (secret: string): Buffer => (secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8'));

const signatureOf = (key: Buffer, id: string, timestamp: string, body: string) => createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();

/** The headers a delivery carries. */
export function signWebhook(secret: string, id: string, body: string, timestampS: number): SignedHeaders {
  const timestamp = String(timestampS);
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signatureOf(keyOf(secret), id, timestamp, body).toString('base64')}`,
  };
}

/**
 * Checks a received webhook: the signature over the raw body as received (before any JSON
 * parsing), and a timestamp within `toleranceS` of now. Returns the parsed event; throws
 * WebhookVerificationError otherwise. Receivers should also drop an id they have already
 * processed: deliveries are at least once.
 */
export function verifyWebhook<T = unknown>(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  options: { toleranceS?: number; nowS?: number } = {},
): T {
  const header = (name: keyof SignedHeaders) => {
    const value = headers[name] ?? headers[name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase())];
    if (typeof value !== 'string' || value === '') throw new WebhookVerificationError(`missing ${name} header`);
    return value;
  };
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signatures = header('webhook-signature');
  const sentS = Number(timestamp);
  const nowS = options.nowS ?? Math.floor(Date.now() / 1000);
  if (!/^\d+$/.test(timestamp) || Math.abs(nowS - sentS) > (options.toleranceS ?? defaultToleranceS)) {
    throw new WebhookVerificationError('webhook-timestamp is missing, malformed or too far from now');
  }
  const expected = signatureOf(keyOf(secret), id, timestamp, body);
  const matches = signatures.split(' ').some((candidate) => {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new WebhookVerificationError('no webhook-signature matches');
  return JSON.parse(body) as T;
}

import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { signWebhook, verifyWebhook, WebhookVerificationError } from '../../src/webhooks/signature';

const secret = 'a-webhook-secret-of-enough-length';
const body = JSON.stringify({ id: 'e1', type: 'room.created', created_at: '2026-12-03T10:00:00.000Z', room_code: 'AbCdEfGhIjKl', data: {} });
const nowS = 1_796_300_000;

describe('webhook signatures (Standard Webhooks scheme)', () => {
  it('signs {id}.{timestamp}.{body} with HMAC-SHA256 and verifies it back', () => {
    const headers = signWebhook(secret, 'e1', body, nowS);
    const expected = createHmac('sha256', secret).update(`e1.${nowS}.${body}`).digest('base64');
    expect(headers).toEqual({ 'webhook-id': 'e1', 'webhook-timestamp': String(nowS), 'webhook-signature': `v1,${expected}` });
    expect(verifyWebhook(secret, { ...headers }, body, { nowS })).toEqual(JSON.parse(body));
  });

  it('takes a whsec_ secret as its base64 key, as Standard Webhooks libraries do', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const whsec = `whsec_${key.toString('base64')}`;
    const headers = signWebhook(whsec, 'e1', body, nowS);
    expect(headers['webhook-signature']).toBe(`v1,${createHmac('sha256', key).update(`e1.${nowS}.${body}`).digest('base64')}`);
    expect(verifyWebhook(whsec, { ...headers }, body, { nowS })).toEqual(JSON.parse(body));
  });

  it('accepts any one of several signatures (secret rotation) and header names in any case', () => {
    const headers = signWebhook(secret, 'e1', body, nowS);
    const rotated = { 'Webhook-Id': 'e1', 'Webhook-Timestamp': String(nowS), 'Webhook-Signature': `v1,bm90IGl0 ${headers['webhook-signature']}` };
    expect(verifyWebhook(secret, rotated, body, { nowS })).toEqual(JSON.parse(body));
  });

  it.each([
    ['a changed body', (h: Record<string, string>) => ({ headers: h, body: body.replace('room.created', 'room.ended') })],
    [
      'another secret',
      (h: Record<string, string>) => ({
        headers: { ...h, 'webhook-signature': signWebhook('another-secret-of-enough-length!', 'e1', body, nowS)['webhook-signature'] },
        body,
      }),
    ],
    ['another id', (h: Record<string, string>) => ({ headers: { ...h, 'webhook-id': 'e2' }, body })],
    ['a replay 10 minutes later', (h: Record<string, string>) => ({ headers: { ...h, 'webhook-timestamp': String(nowS - 600) }, body })],
    ['a malformed timestamp', (h: Record<string, string>) => ({ headers: { ...h, 'webhook-timestamp': `${nowS}.5` }, body })],
    [
      'no signature header',
      (h: Record<string, string>) => ({ headers: { 'webhook-id': h['webhook-id']!, 'webhook-timestamp': h['webhook-timestamp']! }, body }),
    ],
    [
      'an unknown signature version',
      (h: Record<string, string>) => ({ headers: { ...h, 'webhook-signature': h['webhook-signature']!.replace('v1,', 'v2,') }, body }),
    ],
  ])('refuses %s', (_name, tamper) => {
    const { headers, body: sent } = tamper({ ...signWebhook(secret, 'e1', body, nowS) });
    expect(() => verifyWebhook(secret, headers, sent, { nowS })).toThrow(WebhookVerificationError);
  });
});

describe('the meeting-rooms/webhooks package export', () => {
  it('points at the build of src/webhooks/signature.ts, with its type declarations', () => {
    const root = `${__dirname}/../..`;
    const exported = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')).exports['./webhooks'];
    expect(exported).toEqual({ types: './dist/src/webhooks/signature.d.ts', default: './dist/src/webhooks/signature.js' });
    expect(existsSync(`${root}/src/webhooks/signature.ts`)).toBe(true);
    // tsconfig.build.json is JSON with comments; the build emits declarations beside each file.
    const build = JSON.parse(readFileSync(`${root}/tsconfig.build.json`, 'utf8').replace(/^\s*\/\/.*$/gm, ''));
    expect(build.compilerOptions.declaration).toBe(true);
  });
});

import { randomBytes } from 'node:crypto';
import type { WebhookEvent } from '../../src/webhooks/webhook-events';
import { createRoom, guestUser, hostUser, meetings } from '../support/meetings';
import { startServer, type TestServer } from '../support/server';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * docs/webhooks.md "Events": invitation.created, invitation.accepted (the first account only) and
 * invitation.revoked (by DELETE, or replaced by a new invitation to the same address), from the
 * same outbox as the room's events, in the room's order.
 */
let receiver: WebhookReceiver;
let server: TestServer;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  server = await startServer({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`, WEBHOOK_RETRY_BASE_MS: '50' });
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

const invitationEvents = (code: string) => receiver.acknowledged(code).filter((event) => event.type.startsWith('invitation.'));
const dataOf = (event: WebhookEvent | undefined) => (event!.data as { invitation: Record<string, unknown> }).invitation;

it('created, accepted once, revoked; inviting an address again revokes the old invitation', async () => {
  const api = meetings(server);
  const host = await hostUser(server, 'Hana');
  const code = (await createRoom(server, host, { name: 'Hooks', settings: { lock_room: true } })).room_code;
  expect((await api(host, 'POST', `/${code}/join`, {})).status).toBe(200);
  const made = (
    await api(host, 'POST', `/${code}/invitations`, { invitees: [{ email: 'ann@example.org', display_name: 'Ann' }, { email: 'bob@example.org' }] })
  ).body.invitations;
  const ann = await guestUser(server, 'Ann');
  const token = new URL(made[0].invite_url).searchParams.get('invitation')!;
  expect((await api(ann, 'POST', `/${code}/join`, { invitation_token: token })).body.status).toBe('joined');
  // The same account again: no second event.
  expect((await api(ann, 'POST', `/${code}/join`, { invitation_token: token })).body.status).toBe('joined');
  // Someone else with the same token: refused, no event.
  expect((await api(await guestUser(server, 'Eve'), 'POST', `/${code}/join`, { invitation_token: token })).status).toBe(403);
  expect((await api(host, 'DELETE', `/${code}/invitations/${made[1].id}`)).status).toBe(200);
  expect((await api(host, 'DELETE', `/${code}/invitations/${made[1].id}`)).status).toBe(200);
  const cat = (await api(host, 'POST', `/${code}/invitations`, { invitees: [{ email: 'cat@example.org' }] })).body.invitations[0];
  const again = (await api(host, 'POST', `/${code}/invitations`, { invitees: [{ email: 'cat@example.org' }] })).body.invitations[0];

  const expected = ['created', 'created', 'accepted', 'revoked', 'created', 'created', 'revoked'].map((type) => `invitation.${type}`);
  await receiver.until(() => invitationEvents(code).length === expected.length);
  const events = invitationEvents(code);
  expect(events.map((event) => event.type)).toEqual(expected);
  expect(dataOf(events[0])).toEqual({ ...made[0], invite_url: null });
  expect(dataOf(events[2])).toMatchObject({ id: made[0].id, email: 'ann@example.org', status: 'accepted', accepted_at: expect.any(String) });
  expect(dataOf(events[3])).toMatchObject({ id: made[1].id, status: 'revoked' });
  // Creating the new one and revoking the old are one change: the old one's revocation is in its batch.
  expect(events.slice(4).map((event) => dataOf(event).id)).toEqual([cat.id, again.id, cat.id]);
  expect(dataOf(events[6])).toMatchObject({ status: 'revoked' });
  // No link ever leaves in a webhook.
  expect(JSON.stringify(events)).not.toContain(token);
});

import type { RoomView } from '../client';
import { errorBox, h, showScreen } from './dom';

/*
 * An invitee's link is the share link plus `?invitation={token}` (docs/api.md "Invitations").
 * The page reads the token once, keeps it in this tab's sessionStorage (per room: it survives the
 * sign-in step and a reload, not closing the tab, and never reaches localStorage) and takes it
 * out of the address bar, so a link copied from there later is the plain share link.
 */

const keyOf = (roomCode: string) => `meeting-rooms.invitation.${roomCode}`;

/** Moves an invitation token from the address bar of `/join/{roomCode}?invitation=…` into this tab's storage. */
export function takeInvitationFromUrl(roomCode: string): void {
  const url = new URL(location.href);
  const token = url.searchParams.get('invitation');
  if (token === null) return;
  if (token) sessionStorage.setItem(keyOf(roomCode), token);
  url.searchParams.delete('invitation');
  history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
}

/** The invitation token this tab holds for the room, if any. */
export const invitationFor = (roomCode: string): string | undefined => sessionStorage.getItem(keyOf(roomCode)) ?? undefined;

/** Forgets the room's token (the server said it is no longer valid). */
export const forgetInvitation = (roomCode: string): void => sessionStorage.removeItem(keyOf(roomCode));

/**
 * The server refused the token (INVITATION_INVALID: revoked, expired, unknown or someone
 * else's). The person may still join like anyone with the share link (knocking, in a locked
 * room); `join` does that.
 */
export function showInvitationInvalid(room: RoomView, join: () => Promise<void>): void {
  const locked = room.settings.lock_room;
  const again = h('button', { type: 'button', class: 'primary' }, locked ? 'Ask to join without it' : 'Join without it');
  const screen = showScreen(
    'invitation-invalid',
    h('h1', {}, 'This invitation link is no longer valid'),
    h('p', { class: 'lead', role: 'alert', 'data-code': 'INVITATION_INVALID' }, `Ask the host of “${room.name}” for a new one.`),
    h(
      'p',
      {},
      locked
        ? 'You can also ask to join without it: the host will see you in the waiting room.'
        : 'You can also join without it: the room is open to anyone with its link.',
    ),
    h('p', {}, again, ' ', h('a', { href: '/' }, 'Home')),
  );
  again.addEventListener('click', () => {
    again.disabled = true;
    join()
      .catch((error: unknown) => screen.append(errorBox(error)))
      .finally(() => (again.disabled = false));
  });
  again.focus();
}

import './styles.css';
import { MeetingClient, MeetingError } from '../client';
import { errorBox, h, showScreen } from './dom';
import { showHome } from './home';
import { invitationFor, takeInvitationFromUrl } from './invitation-link';
import { openMeeting } from './meeting';
import { loadSession, saveSession } from './session-store';
import { showSignIn } from './signin';

/**
 * The meeting page. `/` signs people in, creates meetings and lists the host's history;
 * `/join/{room_code}` (the share link) runs one meeting: devices, lobby, room. It talks to the
 * server only through the SDK's MeetingClient.
 */
const client = new MeetingClient({ session: loadSession() });

function roomCodeInPath(): string | null {
  const match = /^\/join\/([^/]+)\/?$/.exec(location.pathname);
  return match ? decodeURIComponent(match[1]!) : null;
}

function showAccount(): void {
  const account = document.getElementById('account')!;
  const user = client.session?.user;
  account.replaceChildren(
    ...(user
      ? [
          h('span', { class: 'who' }, user.is_guest ? `${user.display_name} (guest)` : user.display_name),
          h('button', { type: 'button', class: 'link', onclick: signOut }, 'Sign out'),
        ]
      : []),
  );
}

function signOut(): void {
  client.signOut();
  saveSession(null);
  location.assign('/');
}

async function start(): Promise<void> {
  const roomCode = roomCodeInPath();
  // An invite link's token: kept by this tab through the sign-in step, out of the address bar.
  if (roomCode) takeInvitationFromUrl(roomCode);
  if (client.session) {
    // A kept session may have expired, or belong to a database that was reset.
    try {
      await client.me();
    } catch (error) {
      if (!(error instanceof MeetingError && error.code === 'UNAUTHENTICATED')) throw error;
      client.signOut();
      saveSession(null);
    }
  }
  showAccount();
  if (!client.session) {
    showSignIn(client, {
      joining: roomCode !== null,
      invited: roomCode !== null && invitationFor(roomCode) !== undefined,
      onSignedIn: () => {
        saveSession(client.session);
        void start();
      },
    });
    return;
  }
  if (roomCode) await openMeeting(client, roomCode);
  else await showHome(client);
}

start().catch((error: unknown) => {
  showScreen('error', h('h1', {}, 'Something went wrong'), errorBox(error), h('p', {}, h('a', { href: location.pathname }, 'Try again')));
});

import './invitations.css';
import { MeetingError, type InvitationView, type MeetingClient } from '../client';
import { errorBox, field, h, onSubmit, toast } from './dom';

/** The server takes 1–50 invitees per request (docs/api.md "Invitations"). */
const maxInvitees = 50;
/** Loose on purpose: the server checks each address; this catches a typo before anyone is invited. */
const looksLikeEmail = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

const validationError = (path: string, message: string, errors = [{ path, message }]) =>
  new MeetingError('VALIDATION_FAILED', `${path} ${message}`, 400, errors);

/** The addresses of an "invite by email" field: separated by commas, semicolons, spaces or new lines, each once. */
export function parseAddresses(text: string): string[] {
  const seen = new Set<string>();
  return text.split(/[\s,;]+/).filter((address) => address && !seen.has(address.toLowerCase()) && seen.add(address.toLowerCase()));
}

/** The addresses typed in the form field `path` (none is fine), or a VALIDATION_FAILED naming the field and what is wrong. */
export function checkAddresses(text: string, path: string): string[] {
  const emails = parseAddresses(text);
  if (emails.length > maxInvitees) throw validationError(path, `takes at most ${maxInvitees} addresses at a time`);
  const wrong = emails.filter((email) => !looksLikeEmail.test(email));
  if (wrong.length) throw validationError(path, `must be email addresses, and ${wrong.join(', ')} ${wrong.length === 1 ? 'is' : 'are'} not`);
  return emails;
}

/**
 * Invites the addresses typed in the form field `path` (its name, which the form's labels word).
 * A mistake, found here or by the server, is a VALIDATION_FAILED naming that field and the address.
 */
export async function inviteAddresses(client: MeetingClient, roomCode: string, text: string, path: string): Promise<InvitationView[]> {
  const emails = checkAddresses(text, path);
  if (emails.length === 0) throw validationError(path, 'needs at least one email address');
  try {
    return (await client.meetings.invite(roomCode, { invitees: emails.map((email) => ({ email })) })).invitations;
  } catch (error) {
    // `invitees.2.email must be a valid email address` names the address instead of its index.
    if (!(error instanceof MeetingError && error.code === 'VALIDATION_FAILED')) throw error;
    const fields = (error.errors ?? []).map((f) => {
      const index = /^invitees\.(\d+)/.exec(f.path)?.[1];
      return { path, message: index === undefined ? f.message : `${emails[Number(index)]}: ${f.message}` };
    });
    throw validationError(path, fields.map((f) => f.message).join('; '), fields);
  }
}

/** Copies an input's text; where the browser refuses, leaves it selected for Ctrl+C. */
export function copyInput(input: HTMLInputElement): void {
  input.select();
  const done = navigator.clipboard ? navigator.clipboard.writeText(input.value) : Promise.reject(new Error('no clipboard'));
  done.then(
    () => toast('Link copied'),
    () => toast('Press Ctrl+C (⌘C) to copy the selected link'),
  );
}

/**
 * Shows what became of new invitations in `box` (a live region): the links to pass on when the
 * server sends no email (they are shown only this once), or that they are being emailed.
 */
export function showInviteResults(box: HTMLElement, invitations: InvitationView[]): void {
  const linked = invitations.filter((invitation) => invitation.email_status === null && invitation.invite_url);
  const emailed = invitations.filter((invitation) => invitation.email_status !== null);
  const close = h('button', { type: 'button', class: 'link' }, 'Done');
  close.addEventListener('click', () => {
    box.replaceChildren();
    // The button is gone: the focus goes back to the field the addresses were typed in.
    box.closest('form')?.querySelector('textarea')?.focus();
  });
  box.replaceChildren(
    ...(emailed.length
      ? [
          h(
            'p',
            { class: 'ok', 'data-emailed': true },
            `Emailing ${emailed.length === 1 ? 'the invitation' : `${emailed.length} invitations`}: ${emailed.map((i) => i.email).join(', ')}.`,
          ),
        ]
      : []),
    ...(linked.length
      ? [
          h(
            'p',
            { class: 'invite-note' },
            h('strong', {}, 'Send these links yourself.'),
            ' This server sends no email. Each link is shown only once: copy it now.',
          ),
          h('ul', { class: 'invite-links' }, ...linked.map(inviteLinkItem)),
        ]
      : []),
    close,
  );
}

let linkIds = 0;

function inviteLinkItem(invitation: InvitationView): HTMLElement {
  const id = `invite-link-${(linkIds += 1)}`;
  const input = h('input', { type: 'text', readonly: true, value: invitation.invite_url ?? '', 'aria-label': `Invite link for ${invitation.email}` });
  return h(
    'li',
    { 'data-invite-link': true, 'data-email': invitation.email },
    h('span', { class: 'email', id, title: invitation.email }, invitation.email),
    h('span', { class: 'row' }, input, h('button', { type: 'button', 'aria-describedby': id, onclick: () => copyInput(input) }, 'Copy link')),
  );
}

const statusText: Record<InvitationView['status'], string> = { pending: 'Pending', accepted: 'Accepted', revoked: 'Revoked', expired: 'Expired' };

/** What became of the invitation's email; nothing when the server sends none. */
function emailFate(invitation: InvitationView): HTMLElement | null {
  switch (invitation.email_status) {
    case 'sent':
      return h('span', { class: 'mail ok', 'data-email-status': 'sent' }, 'Emailed');
    case 'failed':
      return h('span', { class: 'mail warn', 'data-email-status': 'failed' }, `Email failed${invitation.email_error ? `: ${invitation.email_error}` : ''}`);
    case 'pending':
      return h('span', { class: 'mail', 'data-email-status': 'pending' }, 'Email queued');
    default:
      return null;
  }
}

/** The host's and co-hosts' invitations: a form to invite by email, and the list with Revoke. */
export interface InvitationsPanel {
  /** The "Invite people by email" form, with its results. */
  form: HTMLFormElement;
  /** The invitations so far. */
  list: HTMLElement;
  /** Loads the list again (when the panel opens, after inviting or revoking, when someone arrives; and by itself while an email is queued). */
  refresh(): Promise<void>;
}

export function invitationsPanel(client: MeetingClient, roomCode: string): InvitationsPanel {
  const results = h('div', { class: 'invite-results', role: 'status', 'aria-live': 'polite', 'data-invite-results': true });
  const emails = h('textarea', {
    name: 'invite_emails',
    rows: 2,
    required: true,
    placeholder: 'ann@example.org, bob@example.org',
    'aria-describedby': 'invite-hint',
  });
  const form = onSubmit(
    h(
      'form',
      { 'data-form': 'invite', class: 'invite-form' },
      field('Invite people by email', emails),
      h('p', { class: 'hint field-note', id: 'invite-hint' }, 'Separate addresses with commas, spaces or new lines.'),
      h('button', { type: 'submit' }, 'Invite'),
      results,
    ),
    async (values) => {
      results.replaceChildren();
      const invitations = await inviteAddresses(client, roomCode, String(values.invite_emails), 'invite_emails');
      emails.value = '';
      showInviteResults(results, invitations);
      await refresh();
    },
    { invite_emails: 'Invite people by email' },
  );

  const title = h('h2', { id: 'invitations-title', tabindex: -1 }, 'Invitations');
  const items = h('ul', { class: 'invitations', 'aria-labelledby': 'invitations-title', 'data-invitations': true, tabindex: 0 });
  const list = h('section', { class: 'invitations-section' }, title, items);
  let generation = 0;
  /** While an email is queued, the list is loaded again after this long (doubling, up to a minute) to show its fate. */
  let pollMs = 2_000;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;

  const revoke = async (invitation: InvitationView) => {
    if (!confirm(`Revoke the invitation to ${invitation.email}? Its link will stop working.`)) return;
    let failure: Error | undefined;
    try {
      await client.meetings.revokeInvitation(roomCode, invitation.id);
      toast(`Invitation to ${invitation.email} revoked`);
    } catch (error) {
      failure = error as Error;
    }
    await refresh();
    if (failure) list.append(errorBox(failure));
    title.focus();
  };

  const item = (invitation: InvitationView) => {
    const id = `invitation-${invitation.id}`;
    const revocable = invitation.status === 'pending' || invitation.status === 'accepted';
    return h(
      'li',
      { 'data-invitation': true, 'data-invitation-id': invitation.id, 'data-status': invitation.status, 'data-email': invitation.email },
      h(
        'span',
        { class: 'who' },
        h('span', { class: 'email', id, title: invitation.email }, invitation.email),
        invitation.display_name ? h('span', { class: 'name' }, invitation.display_name) : null,
      ),
      h(
        'span',
        { class: 'state' },
        h('span', { class: `badge status-${invitation.status}`, 'data-invitation-status': true }, statusText[invitation.status]),
        emailFate(invitation),
      ),
      revocable ? h('button', { type: 'button', class: 'link', 'aria-describedby': id, onclick: () => void revoke(invitation) }, 'Revoke') : null,
    );
  };

  const refresh = async (polled = false) => {
    const mine = (generation += 1);
    clearTimeout(pollTimer);
    if (!polled) pollMs = 2_000;
    try {
      const { invitations } = await client.meetings.invitations(roomCode);
      if (mine !== generation) return;
      list.querySelector('[role=alert]')?.remove();
      title.textContent = `Invitations (${invitations.length})`;
      items.replaceChildren(...(invitations.length ? invitations.map(item) : [h('li', { class: 'empty' }, 'Nobody invited by email yet.')]));
      if (list.isConnected && invitations.some((invitation) => invitation.email_status === 'pending')) {
        pollTimer = setTimeout(() => void refresh(true), pollMs);
        pollMs = Math.min(pollMs * 2, 60_000);
      }
    } catch (error) {
      if (mine !== generation) return;
      list.querySelector('[role=alert]')?.remove();
      list.append(errorBox(error));
    }
  };

  return { form, list, refresh: () => refresh() };
}

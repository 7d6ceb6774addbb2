import type { MeetingClient } from '../client';
import { field, h, onSubmit, showScreen } from './dom';

const input = (name: string, type: string, extra: Record<string, string | number | boolean> = {}) => h('input', { name, type, required: true, ...extra });

/**
 * Sign in, create an account, or continue as a guest (guests can join meetings, not host them).
 * Opened from a share link, the guest form comes first: that is what most people there want.
 */
export function showSignIn(client: MeetingClient, options: { joining: boolean; invited?: boolean; onSignedIn: () => void }): void {
  const guest = onSubmit(
    h(
      'form',
      { 'data-form': 'guest', class: 'card' },
      h('h2', {}, 'Join as a guest'),
      field('Your name', input('display_name', 'text', { maxlength: 64, autocomplete: 'name' })),
      h('button', { type: 'submit', class: 'primary' }, 'Continue as guest'),
    ),
    async (values) => {
      await client.guest({ display_name: String(values.display_name) });
      options.onSignedIn();
    },
  );
  const login = onSubmit(
    h(
      'form',
      { 'data-form': 'login', class: 'card' },
      h('h2', {}, 'Sign in'),
      field('Email', input('email', 'email', { autocomplete: 'username' })),
      field('Password', input('password', 'password', { autocomplete: 'current-password' })),
      h('button', { type: 'submit', class: options.joining ? '' : 'primary' }, 'Sign in'),
    ),
    async (values) => {
      await client.login({ email: String(values.email), password: String(values.password) });
      options.onSignedIn();
    },
  );
  const register = onSubmit(
    h(
      'form',
      { 'data-form': 'register', class: 'card' },
      h('h2', {}, 'Create an account'),
      h('p', { class: 'hint' }, 'An account can host meetings and keeps their history.'),
      field('Name', input('display_name', 'text', { maxlength: 64, autocomplete: 'name' })),
      field('Email', input('email', 'email', { autocomplete: 'username' })),
      field('Password (8 characters or more)', input('password', 'password', { minlength: 8, autocomplete: 'new-password' })),
      h('button', { type: 'submit' }, 'Create account'),
    ),
    async (values) => {
      await client.register({ display_name: String(values.display_name), email: String(values.email), password: String(values.password) });
      options.onSignedIn();
    },
  );
  const forms = options.joining ? [guest, login, register] : [login, register, guest];
  showScreen(
    'signin',
    h('h1', {}, options.joining ? 'Join a meeting' : 'Meeting rooms'),
    h(
      'p',
      { class: 'lead' },
      options.invited
        ? 'You were invited to this meeting. Tell the others who you are: then check your camera and microphone, and join.'
        : options.joining
          ? 'Tell the others who you are.'
          : 'Video meetings with a waiting room, presence and active-speaker detection.',
    ),
    h('div', { class: 'cards' }, ...forms),
  );
}

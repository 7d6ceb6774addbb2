import type { SessionView } from '../client';

const key = 'meeting-rooms.session';

/*
 * The session lives in sessionStorage: per tab, kept across reloads. So one browser can be the
 * host in one tab and a guest in another (the share link opened in a new tab asks who you are),
 * and closing the tab signs out.
 */

/** The session kept by this tab, or null. */
export function loadSession(): SessionView | null {
  try {
    const session = JSON.parse(sessionStorage.getItem(key) ?? 'null') as SessionView | null;
    return session?.access_token ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session: SessionView | null): void {
  if (session) sessionStorage.setItem(key, JSON.stringify(session));
  else sessionStorage.removeItem(key);
}

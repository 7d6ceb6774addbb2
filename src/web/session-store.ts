import type { SessionView } from '../client';

const key = 'meeting-rooms.session';

/** The session kept in this browser (per origin and profile), or null. */
export function loadSession(): SessionView | null {
  try {
    const session = JSON.parse(localStorage.getItem(key) ?? 'null') as SessionView | null;
    return session?.access_token ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session: SessionView | null): void {
  if (session) localStorage.setItem(key, JSON.stringify(session));
  else localStorage.removeItem(key);
}

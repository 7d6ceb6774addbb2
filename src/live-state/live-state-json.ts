import { z } from 'zod';
import type { LiveLobbyEntry, LiveParticipant } from './live-state';

/**
 * The JSON a room's live state is stored as in Redis (docs/operations.md "Redis keys"): what
 * redis-live-state.ts writes, and how it reads back what it, or another service, wrote.
 */

// Serializers name every field, so only the documented shape reaches Redis even if a caller's
// object carries more.
export const serializeParticipant = (p: LiveParticipant): string =>
  JSON.stringify({
    status: p.status,
    language: p.language,
    hardware_ready: p.hardware_ready,
    display_name: p.display_name,
    role: p.role,
    joined_at: p.joined_at,
    media: p.media,
  });

export const serializeLobbyEntry = (e: LiveLobbyEntry): string =>
  JSON.stringify({ display_name: e.display_name, language: e.language, hardware_ready: e.hardware_ready, since: e.since });

/**
 * Parses each value and drops the ones that do not parse: other services can write these keys,
 * and one corrupted entry must not crash the node that reads the room.
 * Object.fromEntries keeps an id like `__proto__` an ordinary key.
 */
export function parseEntries<V>(raw: Record<string, string>, parse: (value: string) => V | undefined): Record<string, V> {
  const entries: [string, V][] = [];
  for (const [key, value] of Object.entries(raw)) {
    const parsed = parse(value);
    if (parsed !== undefined) entries.push([key, parsed]);
  }
  return Object.fromEntries(entries);
}

/**
 * The set is the authority on who waits. A member whose metadata is missing or corrupted still
 * waits (dropping them would strand a user in the lobby), read with neutral metadata and
 * `since` at the epoch, so they are served first rather than never. Metadata without a set
 * member is a leftover and is ignored.
 */
export function parseLobby(members: string[], rawEntries: Record<string, string>): Record<string, LiveLobbyEntry> {
  const entries = parseEntries(rawEntries, parseLobbyEntry);
  return Object.fromEntries(
    members.map((userId): [string, LiveLobbyEntry] => [
      userId,
      Object.hasOwn(entries, userId) ? entries[userId]! : { display_name: '', language: null, hardware_ready: false, since: new Date(0).toISOString() },
    ]),
  );
}

// The stored JSON shapes (docs/operations.md "Redis keys"). z.object drops fields we do not know.
const participantJson = z.object({
  status: z.enum(['connected', 'disconnected']),
  language: z.string().nullable(),
  hardware_ready: z.boolean(),
  display_name: z.string(),
  role: z.enum(['host', 'co_host', 'guest']),
  joined_at: z.string(),
  // Written since calls (docs/calls.md "Microphone and camera state"); an older entry has none.
  media: z.object({ audio: z.boolean(), video: z.boolean() }).nullable().default(null),
});
const lobbyEntryJson = z.object({ display_name: z.string(), language: z.string().nullable(), hardware_ready: z.boolean(), since: z.string() });

/** A JSON value of the given shape, or undefined for anything else (bad JSON included). */
const parseJson =
  <T>(schema: z.ZodType<T>) =>
  (value: string): T | undefined => {
    try {
      const result = schema.safeParse(JSON.parse(value));
      return result.success ? result.data : undefined;
    } catch {
      return undefined;
    }
  };
export const parseParticipant = parseJson<LiveParticipant>(participantJson);
const parseLobbyEntry = parseJson<LiveLobbyEntry>(lobbyEntryJson);
export const parseConnections = parseJson<string[]>(z.array(z.string()));

export function parseDeadline(value: string): number | undefined {
  // Number('') and Number(' ') are 0; a deadline must be written as a decimal number.
  if (!/^-?\d+(\.\d+)?$/.test(value)) return undefined;
  const ms = Number(value);
  return Number.isFinite(ms) ? ms : undefined;
}

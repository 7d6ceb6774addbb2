import { z } from 'zod';

/**
 * The configuration of calls' ICE servers (docs/calls.md "ICE servers and TURN"): ICE_SERVERS lists STUN/TURN servers
 * every participant gets as they are; TURN_URLS with TURN_SECRET adds a TURN server whose
 * credentials the server mints per participant (realtime/ice-servers.ts).
 */

/** One entry of RTCConfiguration.iceServers. */
export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

export interface IceConfig {
  readonly servers: readonly IceServer[];
  /** Ephemeral TURN credentials (coturn `use-auth-secret`); undefined when TURN_URLS is unset. */
  readonly turn: { readonly urls: readonly string[]; readonly secret: string; readonly ttlS: number } | undefined;
  /** The most people a call connects as a mesh (every browser sends to every other); clients say so beyond it. */
  readonly meshMaxParticipants: number;
}

const iceUrl = z.string().regex(/^(stun|stuns|turn|turns):[^\s,]+$/, 'must be a stun:, stuns:, turn: or turns: URL');
const turnUrl = z.string().regex(/^turns?:[^\s,]+$/, 'must be a turn: or turns: URL');

const iceServer = z.strictObject({
  urls: z.union([iceUrl, z.array(iceUrl).min(1)]),
  username: z.string().max(512).optional(),
  credential: z.string().max(512).optional(),
});

/** A comma-separated list of URLs of the given shape. */
const urlList = <T extends z.ZodType<string>>(url: T, what: string) =>
  z.string().transform((value, ctx) => {
    const urls = value.split(',').map((entry) => entry.trim());
    const bad = urls.filter((entry) => !url.safeParse(entry).success);
    if (bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `must be ${what} separated by commas (not: ${bad.join(', ') || 'an empty entry'})` });
      return z.NEVER;
    }
    return [...new Set(urls)];
  });

/** ICE_SERVERS: a JSON array of RTCIceServer objects, or a comma-separated list of STUN/TURN URLs. */
export const iceServersEnv = z.string().transform((value, ctx): IceServer[] => {
  if (!value.trim().startsWith('[')) {
    const urls = urlList(iceUrl, 'stun:/turn: URLs').safeParse(value);
    if (urls.success) return urls.data.map((url) => ({ urls: url }));
    ctx.addIssue({ code: 'custom', message: urls.error.issues[0]!.message });
    return z.NEVER;
  }
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {urls, username?, credential?} or a comma-separated list of URLs' });
    return z.NEVER;
  }
  const servers = z.array(iceServer).safeParse(json);
  if (servers.success) return servers.data;
  ctx.addIssue({ code: 'custom', message: `must be a JSON array of {urls, username?, credential?}: ${servers.error.issues[0]!.message}` });
  return z.NEVER;
});

/** TURN_URLS: where the TURN server with minted credentials listens. */
export const turnUrlsEnv = urlList(turnUrl, 'turn: or turns: URLs');

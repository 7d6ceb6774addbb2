import { createHmac } from 'node:crypto';
import type { IceConfig } from '../config/ice-config';
import type { IceServerView } from '../contract/events';

/**
 * The ICE servers a seated participant's browser gets (README "Calls"): the configured ones, and
 * the TURN server with credentials of its own in the TURN REST API scheme that coturn's
 * `use-auth-secret` checks: username `{expiry in epoch seconds}:{user_id}`, credential
 * base64(HMAC-SHA1(TURN_SECRET, username)). Nobody else is ever given TURN credentials.
 */
export type IceServersFor = (userId: string) => IceServerView[];

export function createIceServers(config: IceConfig, now: () => number = Date.now): IceServersFor {
  const { turn } = config;
  const servers: IceServerView[] = config.servers.map((server) => ({ ...server, urls: typeof server.urls === 'string' ? server.urls : [...server.urls] }));
  return (userId) => {
    if (!turn) return servers;
    const username = `${Math.floor(now() / 1000) + turn.ttlS}:${userId}`;
    const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
    return [...servers, { urls: [...turn.urls], username, credential }];
  };
}

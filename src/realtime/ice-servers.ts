import { createHmac } from 'node:crypto';
import type { IceConfig } from '../config/ice-config';
import type { IceServerView } from '../contract/events';

/**
 * What a seated participant's browser needs for calls (docs/calls.md "ICE servers and TURN"): the configured ICE
 * servers, and the TURN server with credentials of its own in the TURN REST API scheme that
 * coturn's `use-auth-secret` checks: username `{expiry in epoch seconds}:{user_id}`, credential
 * base64(HMAC-SHA1(TURN_SECRET, username)). Nobody else is ever given TURN credentials.
 */
export interface CallSettings {
  iceServers(userId: string): IceServerView[];
  /** What a participant's `room:attach` reply carries for calls. */
  forAttach(userId: string): { ice_servers: IceServerView[]; mesh_max_participants: number };
}

export function createCallSettings(config: IceConfig, now: () => number = Date.now): CallSettings {
  const { turn } = config;
  const servers: IceServerView[] = config.servers.map((server) => ({ ...server, urls: typeof server.urls === 'string' ? server.urls : [...server.urls] }));
  const iceServers = (userId: string): IceServerView[] => {
    if (!turn) return servers;
    const username = `${Math.floor(now() / 1000) + turn.ttlS}:${userId}`;
    const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
    return [...servers, { urls: [...turn.urls], username, credential }];
  };
  return {
    iceServers,
    forAttach: (userId) => ({ ice_servers: iceServers(userId), mesh_max_participants: config.meshMaxParticipants }),
  };
}

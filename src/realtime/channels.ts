/**
 * The Socket.IO rooms ("channels") the server uses. Every socket joins its user's channel at the
 * handshake; a participant's attached sockets join the room's channel. Personal events (lobby
 * outcomes, removal, the host's lobby notices) go to user channels, so they reach every tab of
 * the user on any node; room events go to the room channel.
 */
export const userChannel = (userId: string) => `user:${userId}`;
export const roomChannel = (roomCode: string) => `room:${roomCode}`;

/**
 * Lets this node hear a channel's broadcasts before any of its sockets is in it. With the sharded
 * adapter a node subscribes to a channel only while one of its sockets is in it, and a socket
 * enters a room's channel when the room says so (`channel:join`), just before the room's next
 * events: a subscription made then could miss them. So a socket's node holds the room's channel
 * from the moment the socket asks to attach, until it detaches or goes, and `hold` resolves once
 * the subscription is in place. With the other adapters every node hears everything: nothing to do.
 */
export interface ChannelInterest {
  hold(channel: string): Promise<void>;
  release(channel: string): void;
}

export const everyChannel: ChannelInterest = { hold: async () => undefined, release: () => undefined };

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

/**
 * Moves sockets held by other nodes into or out of a channel, and says when they have moved.
 * The Socket.IO adapters send such a change on a channel of their own, and on a Redis Cluster
 * that channel and a room's (sharded pub/sub, one shard per channel) are separate streams: a
 * node could get the room's next event before the change that let its socket hear it. So there
 * a room's events after a change wait until each node concerned has confirmed it (through the
 * cluster's node inboxes). On one Redis every node gets the adapter's messages in order, and the
 * adapter's own remote change is enough.
 */
export interface RemoteChannels {
  /** This node's id, as in the room's connection ids (`{node_id}#{socket_id}`). */
  nodeId: string;
  move(node: string, move: { op: 'join' | 'leave'; channel: string; socketIds: string[] }): Promise<void>;
}

/**
 * The Socket.IO rooms ("channels") the server uses. Every socket joins its user's channel at the
 * handshake; a participant's attached sockets join the room's channel. Personal events (lobby
 * outcomes, removal, the host's lobby notices) go to user channels, so they reach every tab of
 * the user on any node; room events go to the room channel.
 */
export const userChannel = (userId: string) => `user:${userId}`;
export const roomChannel = (roomCode: string) => `room:${roomCode}`;

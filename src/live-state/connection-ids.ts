/**
 * How a room records an attached socket: `{node_id}#{socket_id}`. Rooms treat it as an opaque
 * string; the node id in it tells the cluster which node holds the socket, so the sockets of a
 * node that died can be found and detached (cluster-maintenance.ts). Node ids cannot contain
 * `#` (config.ts), socket ids do not.
 */
export const connectionIdOf = (nodeId: string, socketId: string): string => `${nodeId}#${socketId}`;

/** The node and socket of a connection id; an id without a node is taken as a bare socket id. */
export function parseConnectionId(connectionId: string): { nodeId: string | null; socketId: string } {
  const at = connectionId.lastIndexOf('#');
  return at < 0 ? { nodeId: null, socketId: connectionId } : { nodeId: connectionId.slice(0, at), socketId: connectionId.slice(at + 1) };
}

import { unfenced } from '../live-state/fencing';
import { createRoomHost, type RoomHostDeps } from './room-host';
import { asRoomError, type RoomCommand, type RoomRouter } from './room-router';

export type InProcessRouterDeps = Omit<RoomHostDeps, 'fence' | 'route' | 'onUnload'>;

/**
 * The single-node router: every room is held by this process's one room host, unfenced (no
 * other node can write). A due deadline is an `expire` command like any other.
 */
export function createInProcessRouter(deps: InProcessRouterDeps): RoomRouter {
  const host = createRoomHost({
    ...deps,
    fence: unfenced,
    route: (roomCode, command) => dispatch(roomCode, command),
    onUnload() {},
  });

  function dispatch(roomCode: string, command: RoomCommand) {
    return host.run(roomCode, command).catch((error: unknown) => {
      throw asRoomError(error, deps.logger, roomCode, command);
    });
  }

  return {
    create: (room) => host.create(room, true),
    dispatch: dispatch as RoomRouter['dispatch'],
    close: () => host.close(),
  };
}

import { unfenced } from '../live-state/fencing';
import { createRoomRuntime, type RoomRuntimeDeps } from './room-runtime';
import { asRoomError, type RoomCommand, type RoomRouter } from './room-router';

export type InProcessRouterDeps = Omit<RoomRuntimeDeps, 'fence' | 'route' | 'onUnload'>;

/**
 * The single-node router: every room is held by this process's one room runtime, unfenced (no
 * other node can write). A due deadline is an `expire` command like any other.
 */
export function createInProcessRouter(deps: InProcessRouterDeps): RoomRouter {
  const runtime = createRoomRuntime({
    ...deps,
    fence: unfenced,
    route: (roomCode, command) => dispatch(roomCode, command),
    onUnload() {},
  });

  function dispatch(roomCode: string, command: RoomCommand) {
    return runtime.run(roomCode, command).catch((error: unknown) => {
      throw asRoomError(error, deps.logger, roomCode, command);
    });
  }

  return {
    create: (room) => runtime.create(room, true),
    dispatch: dispatch as RoomRouter['dispatch'],
    close: () => runtime.close(),
  };
}

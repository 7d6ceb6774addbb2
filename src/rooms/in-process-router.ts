import type { Logger } from 'pino';
import { asRoomError, type RoomCommand, type RoomRouter } from './room-router';
import type { RoomRuntime } from './room-runtime.types';

/**
 * The single-node router: every room runs in this process's one room runtime (built, unfenced,
 * by the composition root), so routing is running the command here.
 */
export function createInProcessRouter(runtime: RoomRuntime, logger: Logger): RoomRouter {
  function dispatch(roomCode: string, command: RoomCommand) {
    return runtime.run(roomCode, command).catch((error: unknown) => {
      throw asRoomError(error, logger, roomCode, command);
    });
  }

  return {
    create: (room) => runtime.create(room, true),
    dispatch: dispatch as RoomRouter['dispatch'],
    close: () => runtime.close(),
  };
}

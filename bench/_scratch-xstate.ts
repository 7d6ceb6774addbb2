import { createRoomSnapshot, restoreRoomSnapshot, step } from '../src/rooms/room-step';
const input = { roomId: 'r1', roomCode: 'abcdefghijkl', name: 'Bench', hostId: 'h1', createdAt: Date.now(), settings: { lock_room: false, enable_transcription: false, max_participants: 100 }, emptyRoomTimeoutMs: 300000, reconnectGraceMs: 30000 };
const N = 20000;
for (let round = 0; round < 3; round++) {
  let t = performance.now(); let s: any;
  for (let i = 0; i < N; i++) s = createRoomSnapshot(input);
  const a = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) restoreRoomSnapshot('pending', s.context);
  const b = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) step(s, { type: 'join', at: Date.now(), userId: 'h1', displayName: 'H', language: null, hardwareReady: false });
  const c = (performance.now() - t) / N * 1000;
  console.log(`createRoomSnapshot ${a.toFixed(1)} us, restore ${b.toFixed(1)} us, step(join host) ${c.toFixed(1)} us`);
}

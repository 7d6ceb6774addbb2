import { audioLevelPayload } from '../../src/contract/schemas';

/**
 * `audio:level` is checked by its contract schema on every level (src/realtime/speaker.handlers.ts):
 * exactly `{room_code, level}`, a room code of the real shape and a level in [-127, 0] dBFS.
 * Anything else is dropped without a reply, so the schema is all that stands between a client
 * and the speaking detector.
 */
const code = 'AbCdEf012_-z';
const parse = (input: unknown) => {
  const parsed = audioLevelPayload.safeParse(input);
  return parsed.success ? parsed.data : null;
};

const valid: [unknown, number][] = [
  [{ room_code: code, level: -20 }, -20],
  [{ level: -20, room_code: code }, -20],
  [{ room_code: code, level: 0 }, 0],
  [{ room_code: code, level: -127 }, -127],
  [{ room_code: code, level: -126.999 }, -126.999],
  [JSON.parse(`{"room_code":"${code}","level":-42.5}`), -42.5],
];

const invalid: unknown[] = [
  // the level
  { room_code: code, level: 0.0001 },
  { room_code: code, level: -127.0001 },
  { room_code: code, level: 5 },
  { room_code: code, level: Number.NaN },
  { room_code: code, level: Number.NEGATIVE_INFINITY },
  { room_code: code, level: '-20' },
  { room_code: code, level: null },
  { room_code: code, level: 10n },
  { room_code: code, level: [-20] },
  // the room code
  { room_code: 'short', level: -20 },
  { room_code: `${code}x`, level: -20 },
  { room_code: 'AbCdEf012_-!', level: -20 },
  { room_code: `${code}\n`, level: -20 },
  { room_code: 'ÀbCdEf012_-z', level: -20 },
  { room_code: 1, level: -20 },
  { room_code: [code], level: -20 },
  // keys missing or extra
  { room_code: code },
  { level: -20 },
  {},
  { room_code: code, level: -20, extra: 1 },
  { room_code: code, level: undefined },
  // not objects
  undefined,
  null,
  42,
  'x',
  [],
  [code, -20],
  new Map<string, unknown>([
    ['room_code', code],
    ['level', -20],
  ]),
  () => undefined,
];

describe('audio:level payload', () => {
  it.each(valid.map(([input, level], i) => [i, input, level]))('accepts level #%i', (_i, input, level) => {
    expect(parse(input)).toEqual({ room_code: code, level });
  });

  it.each(invalid.map((input, i) => [i, input]))('rejects malformed payload #%i without throwing', (_i, input) => {
    expect(parse(input)).toBeNull();
  });
});

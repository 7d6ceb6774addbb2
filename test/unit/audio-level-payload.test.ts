import { audioLevelPayload, parseAudioLevel } from '../../src/contract/schemas';

/**
 * `parseAudioLevel` is the hot path's `audioLevelPayload.safeParse`: for every input it must give
 * the schema's outcome (the data, or null where the schema fails).
 */
const schema = (input: unknown) => {
  const parsed = audioLevelPayload.safeParse(input);
  return parsed.success ? parsed.data : null;
};

const code = 'AbCdEf012_-z';

const withProto = (proto: object | null, fields: Record<string, unknown>) => Object.assign(Object.create(proto) as object, fields);
const withHidden = () => Object.defineProperty({ room_code: code, level: -20 }, 'extra', { value: 1, enumerable: false });
const withSymbol = () => ({ room_code: code, level: -20, [Symbol('x')]: 1 });
const withGetter = () => ({
  room_code: code,
  get level() {
    return -33;
  },
});

const inputs: unknown[] = [
  // the shape itself, and the edges of the level
  { room_code: code, level: -20 },
  { level: -20, room_code: code },
  { room_code: code, level: 0 },
  { room_code: code, level: -0 },
  { room_code: code, level: -127 },
  { room_code: code, level: -126.999 },
  { room_code: code, level: 0.0001 },
  { room_code: code, level: -127.0001 },
  { room_code: code, level: 5 },
  { room_code: code, level: Number.NaN },
  { room_code: code, level: Number.NEGATIVE_INFINITY },
  { room_code: code, level: Number.POSITIVE_INFINITY },
  { room_code: code, level: '-20' },
  { room_code: code, level: null },
  { room_code: code, level: 10n },
  { room_code: code, level: [-20] },
  // the room code
  { room_code: 'short', level: -20 },
  { room_code: `${code}x`, level: -20 },
  { room_code: 'AbCdEf012_-!', level: -20 },
  { room_code: 'AbCdEf012_-\n', level: -20 },
  { room_code: `${code}\n`, level: -20 },
  { room_code: 'ÀbCdEf012_-z', level: -20 },
  { room_code: 1, level: -20 },
  { room_code: null, level: -20 },
  { room_code: [code], level: -20 },
  // keys missing, extra, undefined, inherited, hidden
  { room_code: code },
  { level: -20 },
  {},
  { room_code: code, level: -20, extra: 1 },
  { room_code: code, level: -20, extra: undefined },
  { room_code: code, level: undefined },
  { room_code: undefined, level: -20 },
  { room_code: code, level: -20, __proto__: { extra: 1 } },
  JSON.parse(`{"room_code":"${code}","level":-20,"__proto__":{"level":1}}`),
  JSON.parse(`{"room_code":"${code}","__proto__":1}`),
  withProto(null, { room_code: code, level: -20 }),
  withProto({ level: -20 }, { room_code: code }),
  withProto({ room_code: code, level: -20 }, {}),
  withProto({ extra: 1 }, { room_code: code, level: -20 }),
  withHidden(),
  withSymbol(),
  withGetter(),
  // not objects, or not plain ones
  undefined,
  null,
  42,
  'x',
  true,
  [],
  [code, -20],
  Object.assign([], { room_code: code, level: -20 }),
  new Map<string, unknown>([
    ['room_code', code],
    ['level', -20],
  ]),
  new Date(0),
  () => undefined,
];

describe('parseAudioLevel', () => {
  it.each(inputs.map((input, i) => [i, input]))('agrees with the schema on input #%i', (_i, input) => {
    expect(parseAudioLevel(input)).toEqual(schema(input));
  });

  it('returns the payload of a valid level, and null for an invalid one', () => {
    expect(parseAudioLevel({ room_code: code, level: -20 })).toEqual({ room_code: code, level: -20 });
    expect(parseAudioLevel({ room_code: code, level: 1 })).toBeNull();
  });

  it('checks a level of the exact shape without the schema, and leaves anything else to it', () => {
    const safeParse = jest.spyOn(audioLevelPayload, 'safeParse');
    try {
      expect(parseAudioLevel(JSON.parse(`{"room_code":"${code}","level":-42.5}`))).toEqual({ room_code: code, level: -42.5 });
      expect(parseAudioLevel({ level: 0, room_code: code })).toEqual({ room_code: code, level: 0 });
      expect(safeParse).not.toHaveBeenCalled();
      expect(parseAudioLevel({ room_code: code, level: -20, extra: 1 })).toBeNull();
      expect(safeParse).toHaveBeenCalledTimes(1);
    } finally {
      safeParse.mockRestore();
    }
  });

  it('agrees with the schema on generated payloads', () => {
    // A fixed-seed generator, so a failure repeats.
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const codes = [code, 'short', `${code}x`, 'ABCDEFGHIJK*', '', 7, null, undefined];
    const levels = [-60, -127, 0, -0, 1, -128, -127.5, 0.5, Number.NaN, '0', null, undefined, Infinity, -Infinity];
    const extras = [undefined, 'extra', 'Level', 'room_code ', 'constructor', 'toString'];
    for (let i = 0; i < 5000; i++) {
      const input: Record<string, unknown> = {};
      if (random() < 0.9) input.room_code = pick(codes);
      if (random() < 0.9) input.level = random() < 0.5 ? pick(levels) : -127 + random() * 130;
      const extra = pick(extras);
      if (extra !== undefined && random() < 0.3) input[extra] = 1;
      expect(parseAudioLevel(input)).toEqual(schema(input));
    }
  });
});

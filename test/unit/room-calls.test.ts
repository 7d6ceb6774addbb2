import { accepted, host, refusalOf, room } from '../support/room-machine';

/** Call signaling on the pure machine (docs/calls.md "Signaling"): who may signal whom, and where it goes. */
describe('room machine: call signaling', () => {
  const offer = { description: { type: 'offer' as const, sdp: 'v=0' } };
  const signal = (r: ReturnType<typeof room>, from: string, to: string, connectionId = `${from}-socket`) =>
    r.send({ type: 'signal', userId: from, connectionId, to, signal: offer });

  function call() {
    const r = room({ lock_room: false });
    r.join(host);
    r.join('ann');
    r.attach(host);
    r.attach('ann');
    return r;
  }

  it("hands a participant's signal to the other's media socket and changes nothing", () => {
    const r = call();
    const before = r.ctx;
    const result = accepted(signal(r, host, 'ann'));
    expect(result.notices).toEqual([{ type: 'rtc:signal', connection: 'ann-socket', from: host, signal: offer }]);
    expect(result.changed).toBe(false);
    expect(r.ctx).toBe(before);
  });

  it('refuses anyone not seated, a target not seated, oneself, and a socket that is not the media socket', () => {
    const r = call();
    r.configure({ lock_room: true });
    r.join('wanda');
    r.attach('wanda');
    expect(refusalOf(signal(r, 'wanda', host))).toBe('NOT_A_PARTICIPANT');
    expect(refusalOf(signal(r, host, 'wanda'))).toBe('NOT_A_PARTICIPANT');
    expect(refusalOf(signal(r, host, 'nobody'))).toBe('NOT_A_PARTICIPANT');
    expect(refusalOf(signal(r, host, host))).toBe('VALIDATION_FAILED');
    expect(refusalOf(signal(r, host, 'ann', 'some-other-socket'))).toBe('SUPERSEDED');
  });

  it("a newer socket carries the user's media: the one before is told, and signals go to the newest", () => {
    const r = call();
    const second = accepted(r.attach('ann', 'ann-tab-2'));
    expect(second.notices).toContainEqual({ type: 'rtc:superseded', connections: ['ann-socket'] });
    expect(accepted(signal(r, host, 'ann')).notices).toEqual([expect.objectContaining({ connection: 'ann-tab-2' })]);
    expect(refusalOf(signal(r, 'ann', host))).toBe('SUPERSEDED');
    accepted(signal(r, 'ann', host, 'ann-tab-2'));
    // Gone again, the first socket is the newest left, and carries the media.
    r.detach('ann', 'ann-tab-2');
    expect(accepted(signal(r, host, 'ann')).notices).toEqual([expect.objectContaining({ connection: 'ann-socket' })]);
  });

  it('delivers nothing to a participant with no socket attached, and cuts off the removed and an ended room', () => {
    const r = call();
    r.detach('ann');
    expect(accepted(signal(r, host, 'ann')).notices).toEqual([]);
    r.attach('ann');
    accepted(r.send({ type: 'remove', by: host, userId: 'ann' }));
    expect(refusalOf(signal(r, host, 'ann'))).toBe('NOT_A_PARTICIPANT');
    expect(refusalOf(signal(r, 'ann', host))).toBe('NOT_A_PARTICIPANT');
    accepted(r.send({ type: 'end', by: host }));
    expect(refusalOf(signal(r, host, 'ann'))).toBe('ROOM_NOT_FOUND');
  });
});

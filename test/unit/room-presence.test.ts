import { nextDeadline, socketsOf } from '../../src/rooms/step-helpers';
import { accepted, graceMs, gracesOf, host, leftNotice, refusalOf, room } from '../support/room-machine';

/**
 * Presence on the pure machine (docs/realtime.md "Presence"): sockets attach and detach, the last one
 * going starts the reconnect grace, and a user whose grace runs out leaves as `disconnected`.
 */

const updated = (userId: string, status: 'connected' | 'disconnected') => ({
  type: 'participant:updated',
  participant: expect.objectContaining({ userId, status }),
});

describe('room machine: presence', () => {
  it('a REST join without a socket counts the grace from joining; attaching clears it', () => {
    const r = room();
    r.join(host);
    expect(r.ctx.participants[host]!.status).toBe('disconnected');
    expect(gracesOf(r.ctx)).toEqual({ [host]: 1_000 + graceMs });
    expect(nextDeadline(r.ctx)).toBe(1_000 + graceMs);

    r.advance(500);
    const attached = accepted(r.attach(host));
    expect(attached.notices).toEqual([{ type: 'channel:join', connections: ['host-1-socket'] }, updated(host, 'connected')]);
    expect(r.ctx.participants[host]!.status).toBe('connected');
    expect(gracesOf(r.ctx)).toEqual({});
    expect(nextDeadline(r.ctx)).toBeNull();
  });

  it('a user who attached before joining comes in connected, with no deadline', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.attach(host);
    r.join('ann');
    // A waiting user's socket hears only personal events: it does not join the room's channel.
    expect(accepted(r.attach('ann')).notices).toEqual([]);
    expect(gracesOf(r.ctx)).toEqual({});
    // Waiting, her socket was not in the room's channel; admitted, it joins before the announcement.
    const admitted = accepted(r.admit('ann'));
    expect(admitted.notices).toEqual([
      { type: 'lobby:admitted', userId: 'ann' },
      { type: 'channel:join', connections: ['ann-socket'] },
      { type: 'participant:joined', participant: expect.objectContaining({ userId: 'ann', status: 'connected' }) },
    ]);
  });

  it('only the last socket going marks the user disconnected; a second tab keeps them connected', () => {
    const r = room();
    r.join(host);
    r.attach(host, 'tab-1');
    // The second tab carries the user's media from now on (docs/calls.md "One media socket per user"): the first is told.
    expect(accepted(r.attach(host, 'tab-2')).notices).toEqual([
      { type: 'channel:join', connections: ['tab-2'] },
      { type: 'rtc:superseded', connections: ['tab-1'] },
    ]);
    expect(accepted(r.attach(host, 'tab-2')).changed).toBe(false);
    expect(socketsOf(r.ctx, host)).toEqual(['tab-1', 'tab-2']);

    expect(accepted(r.detach(host, 'tab-1')).notices).toEqual([{ type: 'channel:leave', connections: ['tab-1'] }]);
    expect(r.ctx.participants[host]!.status).toBe('connected');
    r.advance(100);
    expect(accepted(r.detach(host, 'tab-2')).notices).toEqual([{ type: 'channel:leave', connections: ['tab-2'] }, updated(host, 'disconnected')]);
    expect(gracesOf(r.ctx)[host]).toBe(1_100 + graceMs);
    // A socket that was never attached (or already detached) changes nothing.
    expect(accepted(r.detach(host, 'tab-2')).changed).toBe(false);
  });

  it('back inside the grace: connected again, nobody leaves', () => {
    const r = room();
    r.join(host);
    r.attach(host);
    r.detach(host);
    r.advance(graceMs - 1);
    expect(accepted(r.attach(host)).notices).toEqual([{ type: 'channel:join', connections: ['host-1-socket'] }, updated(host, 'connected')]);
    r.advance(10);
    expect(accepted(r.send({ type: 'expire' })).changed).toBe(false);
    expect(r.members()).toEqual([host]);
  });

  it('past the grace the user leaves as disconnected; the host keeps host rights on rejoining', () => {
    const r = room();
    r.join(host);
    r.join('ann');
    r.attach(host);
    r.attach('ann');
    r.detach('ann');
    r.advance(graceMs - 1);
    expect(accepted(r.send({ type: 'expire' })).changed).toBe(false);
    r.advance(1);
    const expired = accepted(r.send({ type: 'expire' }));
    expect(expired.notices).toEqual([leftNotice('ann', 'disconnected')]);
    expect(expired.changes).toEqual([{ kind: 'attendanceClosed', userId: 'ann', reason: 'disconnected', at: 1_000 + graceMs }]);
    expect(r.members()).toEqual([host]);

    // The host drops out too, comes back and is still the host.
    r.detach(host);
    r.advance(graceMs);
    accepted(r.send({ type: 'expire' }));
    expect(r.members()).toEqual([]);
    r.join(host);
    expect(r.ctx.participants[host]!.role).toBe('host');
    expect(r.send({ type: 'configure', by: host, settings: { lock_room: true } }).refused).toBeNull();
  });

  it('a waiting user whose grace runs out leaves the lobby (the host hears lobby:left)', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.attach(host);
    r.join('ann');
    r.advance(graceMs);
    expect(accepted(r.send({ type: 'expire' })).notices).toEqual([{ type: 'lobby:left', moderators: [host], userId: 'ann' }]);
    expect(r.waiting()).toEqual([]);
  });

  it('only members and waiting users may attach; removed users are told so; ended rooms are gone', () => {
    const r = room();
    r.join(host);
    expect(refusalOf(r.attach('stranger'))).toBe('NOT_A_PARTICIPANT');
    r.join('ann');
    r.send({ type: 'remove', by: host, userId: 'ann' });
    expect(refusalOf(r.attach('ann'))).toBe('REMOVED_FROM_ROOM');
    r.send({ type: 'end', by: host });
    expect(refusalOf(r.attach(host))).toBe('ROOM_NOT_FOUND');
    expect(accepted(r.detach(host)).changed).toBe(false);
  });

  it('a socket stays attached across leaving and rejoining: the user comes back connected', () => {
    const r = room();
    r.join(host);
    r.join('ann');
    r.attach('ann');
    const left = accepted(r.leave('ann'));
    expect(left.notices).toEqual([leftNotice('ann', 'left'), { type: 'channel:leave', connections: ['ann-socket'] }]);
    const back = accepted(r.join('ann'));
    expect(back.notices).toEqual([
      { type: 'channel:join', connections: ['ann-socket'] },
      { type: 'participant:joined', participant: expect.objectContaining({ userId: 'ann', status: 'connected' }) },
    ]);
    expect(gracesOf(r.ctx).ann).toBeUndefined();
  });

  it('ending the room forgets every socket and deadline', () => {
    const r = room();
    r.join(host);
    r.attach(host);
    r.join('ann');
    r.send({ type: 'end', by: host });
    // Every user's sockets and deadline: the presence record is empty.
    expect(r.ctx.presence).toEqual({});
    expect(nextDeadline(r.ctx)).toBeNull();
  });
});

describe('room machine: lobby:cancel and hardware status', () => {
  it('cancel takes a waiting user out of the lobby and is a no-op after', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.join('ann');
    expect(accepted(r.send({ type: 'cancelWaiting', userId: 'ann' })).notices).toEqual([{ type: 'lobby:left', moderators: [host], userId: 'ann' }]);
    expect(r.waiting()).toEqual([]);
    expect(accepted(r.send({ type: 'cancelWaiting', userId: 'ann' })).changed).toBe(false);
  });

  it('cancel never takes a participant out of the room', () => {
    const r = room();
    r.join(host);
    expect(refusalOf(r.send({ type: 'cancelWaiting', userId: host }))).toBe('NOT_IN_LOBBY');
    expect(r.members()).toEqual([host]);
  });

  it('hardware status updates a participant (announced) or a waiting user (not announced)', () => {
    const r = room({ lock_room: true });
    r.join(host);
    const changed = accepted(r.send({ type: 'setHardware', userId: host, hardwareReady: true }));
    expect(changed.notices).toEqual([{ type: 'participant:updated', participant: expect.objectContaining({ userId: host, hardwareReady: true }) }]);
    expect(accepted(r.send({ type: 'setHardware', userId: host, hardwareReady: true })).changed).toBe(false);

    r.join('ann');
    const waiting = accepted(r.send({ type: 'setHardware', userId: 'ann', hardwareReady: true }));
    expect(waiting.notices).toEqual([]);
    expect(r.ctx.lobby.ann!.hardwareReady).toBe(true);

    expect(refusalOf(r.send({ type: 'setHardware', userId: 'stranger', hardwareReady: true }))).toBe('NOT_A_PARTICIPANT');
  });
});

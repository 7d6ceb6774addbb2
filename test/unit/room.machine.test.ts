import { replyTo } from '../../src/rooms/room-router';
import { restoreRoomSnapshot, settingsOf, step } from '../../src/rooms/machine-runner';
import type { RoomSettings } from '../../src/rooms/room.types';
import { accepted, gracesOf, host, joinedNotice, leftNotice, refusalOf, room, timeoutMs, unscheduled } from '../support/room-machine';

/**
 * The room rules of docs/api.md "Meetings", checked on the pure machine: each command goes through
 * xstate's transition() with time from a simulated clock, and nothing is executed.
 */

describe('room machine: lifecycle', () => {
  it('starts pending; the host joining starts it and records started_at', () => {
    const r = room();
    expect(r.status).toBe('pending');
    const result = accepted(r.join(host));
    expect(r.status).toBe('active');
    expect(r.ctx.startedAt).toBe(1_000);
    expect(r.ctx.participants[host]).toMatchObject({ role: 'host', status: 'disconnected', joinedAt: 1_000 });
    expect(result.changes).toEqual([
      { kind: 'roomStarted', at: 1_000 },
      { kind: 'attendanceOpened', userId: host, role: 'host', at: 1_000 },
    ]);
    expect(result.notices).toEqual([{ type: 'room:updated', settings: settingsOf(r.snapshot), status: 'active', schedule: unscheduled }, joinedNotice(host)]);
  });

  it('everyone else waits in the lobby until the host arrives, then comes in unless the room is locked', () => {
    const r = room();
    const waiting = accepted(r.join('ann'));
    expect(waiting.notices).toEqual([
      { type: 'lobby:waiting', userId: 'ann', reason: 'host_not_started' },
      { type: 'lobby:entered', moderators: [host], userId: 'ann', displayName: 'ann' },
    ]);
    r.join('bob');
    expect(r.waiting()).toEqual(['ann', 'bob']);
    expect(r.status).toBe('pending');

    const start = accepted(r.join(host));
    expect(r.members()).toEqual(['ann', 'bob', host].sort());
    expect(r.waiting()).toEqual([]);
    expect(start.notices).toContainEqual({ type: 'lobby:admitted', userId: 'ann' });
    expect(start.changes.filter((c) => c.kind === 'attendanceOpened')).toHaveLength(3);
  });

  it('a locked room keeps the lobby waiting when the host arrives', () => {
    const r = room({ lock_room: true });
    r.join('ann');
    r.join(host);
    expect(r.members()).toEqual([host]);
    expect(r.waiting()).toEqual(['ann']);
    expect(r.status).toBe('active');
  });

  it('end closes everything, is host-only and idempotent (ended_at does not move)', () => {
    const r = room();
    r.join(host);
    r.join('ann');
    expect(refusalOf(r.send({ type: 'end', by: 'ann' }))).toBe('NOT_HOST');
    const ended = accepted(r.send({ type: 'end', by: host }));
    expect(r.status).toBe('ended');
    expect(ended.changes).toEqual([{ kind: 'roomEnded', at: 1_000 }]);
    expect(ended.notices).toEqual([{ type: 'room:ended', at: 1_000, userIds: [host, 'ann'] }]);
    expect(r.ctx.participants).toEqual({});
    r.advance(5_000);
    const again = accepted(r.send({ type: 'end', by: host }));
    expect(again.changed).toBe(false);
    expect(again.changes).toEqual([]);
    expect(r.ctx.endedAt).toBe(1_000);
    expect(refusalOf(r.send({ type: 'end', by: 'ann' }))).toBe('NOT_HOST');
  });

  it('an ended room refuses every live command with ROOM_NOT_FOUND, leave too', () => {
    const r = room();
    r.join(host);
    r.join('bob');
    r.send({ type: 'end', by: host });
    expect(refusalOf(r.join('ann'))).toBe('ROOM_NOT_FOUND');
    expect(refusalOf(r.join(host))).toBe('ROOM_NOT_FOUND');
    expect(refusalOf(r.admit('ann'))).toBe('ROOM_NOT_FOUND');
    expect(refusalOf(r.send({ type: 'admitAll', by: host }))).toBe('ROOM_NOT_FOUND');
    expect(refusalOf(r.send({ type: 'reject', by: host, userId: 'ann' }))).toBe('ROOM_NOT_FOUND');
    expect(refusalOf(r.send({ type: 'remove', by: host, userId: 'ann' }))).toBe('ROOM_NOT_FOUND');
    expect(refusalOf(r.configure({ lock_room: true }))).toBe('ROOM_NOT_FOUND');
    // The host, someone who was in the room, and someone who never was.
    for (const who of [host, 'bob', 'ann']) expect(refusalOf(r.leave(who))).toBe('ROOM_NOT_FOUND');
  });

  it('the host may end a room that never started', () => {
    const r = room();
    r.join('ann');
    accepted(r.send({ type: 'end', by: host }));
    expect(r.status).toBe('ended');
    expect(r.ctx.startedAt).toBeNull();
    expect(r.ctx.lobby).toEqual({});
  });
});

describe('room machine: admission', () => {
  it('an open active room lets people straight in; a locked one sends them to the lobby', () => {
    const r = room();
    r.join(host);
    expect(accepted(r.join('ann')).notices).toEqual([joinedNotice('ann')]);
    r.configure({ lock_room: true });
    const waiting = accepted(r.join('bob'));
    expect(waiting.notices[0]).toEqual({ type: 'lobby:waiting', userId: 'bob', reason: 'locked' });
    expect(r.members()).toEqual(['ann', host].sort());
    expect(r.waiting()).toEqual(['bob']);
  });

  it('the host and current participants never wait, even when locked', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.admit('x'); // not waiting: refused, nothing changes
    r.configure({ lock_room: false });
    r.join('ann');
    r.configure({ lock_room: true });
    expect(accepted(r.join('ann')).changed).toBe(false);
    r.leave(host);
    expect(accepted(r.join(host)).notices).toEqual([joinedNotice(host)]);
  });

  it('admit moves a waiting user in; it is idempotent and host-only', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.join('ann');
    expect(refusalOf(r.admit('ann', 'bob'))).toBe('NOT_HOST');
    const admitted = accepted(r.admit('ann'));
    expect(admitted.changes).toEqual([{ kind: 'attendanceOpened', userId: 'ann', role: 'guest', at: 1_000 }]);
    expect(admitted.notices).toEqual([{ type: 'lobby:admitted', userId: 'ann' }, joinedNotice('ann')]);
    const again = accepted(r.admit('ann'));
    expect(again.changed).toBe(false);
    expect(again.changes).toEqual([]);
    expect(refusalOf(r.admit('nobody'))).toBe('NOT_IN_LOBBY');
  });

  it('admitting before the host has joined starts the meeting', () => {
    const r = room();
    r.join('ann');
    accepted(r.admit('ann'));
    expect(r.status).toBe('active');
    expect(r.members()).toEqual(['ann']);
    expect(r.ctx.startedAt).toBe(1_000);
  });

  it('reject removes from the lobby; the user may ask again', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.join('ann');
    expect(accepted(r.send({ type: 'reject', by: host, userId: 'ann' })).notices).toEqual([{ type: 'lobby:rejected', userId: 'ann' }]);
    expect(r.waiting()).toEqual([]);
    expect(refusalOf(r.send({ type: 'reject', by: host, userId: 'ann' }))).toBe('NOT_IN_LOBBY');
    expect(refusalOf(r.send({ type: 'reject', by: 'ann', userId: 'ann' }))).toBe('NOT_HOST');
    accepted(r.join('ann'));
    expect(r.waiting()).toEqual(['ann']);
  });

  it('reject-all turns the whole lobby away in serving order, host only, and drops their graces', () => {
    const r = room({ lock_room: true });
    r.join(host);
    for (const who of ['ann', 'bob', 'cy']) r.join(who);
    expect(Object.keys(gracesOf(r.ctx)).sort()).toEqual(['ann', 'bob', 'cy', host].sort());
    expect(refusalOf(r.send({ type: 'rejectAll', by: 'ann' }))).toBe('NOT_HOST');
    const all = accepted(r.send({ type: 'rejectAll', by: host }));
    expect(all.notices).toEqual(['ann', 'bob', 'cy'].map((userId) => ({ type: 'lobby:rejected', userId })));
    expect(all.changes).toEqual([]);
    expect(r.waiting()).toEqual([]);
    expect(Object.keys(gracesOf(r.ctx))).toEqual([host]);
    // Nobody waiting: nothing changes, nothing is told.
    const none = accepted(r.send({ type: 'rejectAll', by: host }));
    expect(none.changed).toBe(false);
    expect(none.notices).toEqual([]);
  });

  it('a mute request tells the participants asked and changes nothing', () => {
    const r = room();
    r.join(host);
    r.join('ann');
    r.join('bob');
    const before = r.ctx;
    const one = accepted(r.send({ type: 'requestMute', by: host, userId: 'ann' }));
    expect(one.notices).toEqual([{ type: 'participant:mute_requested', userIds: ['ann'], by: host, at: 1_000 }]);
    expect(one.changed).toBe(false);
    expect(one.changes).toEqual([]);
    const all = accepted(r.send({ type: 'requestMute', by: host, userId: null }));
    expect(all.notices).toEqual([{ type: 'participant:mute_requested', userIds: ['ann', 'bob'], by: host, at: 1_000 }]);
    expect(r.ctx).toBe(before);
    expect(refusalOf(r.send({ type: 'requestMute', by: 'ann', userId: 'bob' }))).toBe('NOT_HOST');
    expect(refusalOf(r.send({ type: 'requestMute', by: host, userId: 'nobody' }))).toBe('NOT_A_PARTICIPANT');
  });

  it('with a knock cooldown, a rejected user may not wait in the lobby again until it is over', () => {
    const cooldownMs = 60_000;
    const r = room({ lock_room: true }, { cooldownMs });
    r.join(host);
    r.join('ann');
    r.join('bob');
    accepted(r.send({ type: 'reject', by: host, userId: 'ann' }));
    expect(r.ctx.knockCooldowns).toEqual({ ann: 1_000 + cooldownMs });
    r.advance(30_000);
    const refused = r.join('ann');
    expect(refused.refused).toEqual({ code: 'LOBBY_COOLDOWN', detail: 'You were turned away; you may ask to join again in 30 s' });
    // Giving up is not being turned away; neither is a cancelled wait.
    accepted(r.send({ type: 'cancelWaiting', userId: 'bob' }));
    expect(accepted(r.join('bob')).notices[0]).toEqual({ type: 'lobby:waiting', userId: 'bob', reason: 'locked' });
    // An open room lets them straight in: the cooldown is on knocking only.
    r.configure({ lock_room: false });
    expect(r.members()).toContain('bob');
    accepted(r.join('ann'));
    expect(r.members()).toContain('ann');

    r.configure({ lock_room: true });
    r.join('cy');
    r.join('dee');
    accepted(r.send({ type: 'rejectAll', by: host }));
    expect(Object.keys(r.ctx.knockCooldowns).sort()).toEqual(['ann', 'cy', 'dee']);
    r.advance(cooldownMs);
    expect(accepted(r.join('cy')).notices[0]).toMatchObject({ type: 'lobby:waiting', userId: 'cy' });
  });

  it('without a knock cooldown (the default) a rejected user may knock again at once', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.join('ann');
    accepted(r.send({ type: 'reject', by: host, userId: 'ann' }));
    expect(r.ctx.knockCooldowns).toEqual({});
    expect(r.waiting()).toEqual([]);
    accepted(r.join('ann'));
    expect(r.waiting()).toEqual(['ann']);
  });

  it('co-hosts moderate beside the host (admit, reject, remove guests, mute) but may not end, configure or appoint', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.join('cora');
    r.join('ann');
    r.join('bob');
    accepted(r.admit('cora'));
    expect(refusalOf(r.send({ type: 'setCoHost', by: 'cora', userId: 'cora', coHost: true }))).toBe('NOT_HOST');
    expect(refusalOf(r.send({ type: 'setCoHost', by: host, userId: 'ann', coHost: true }))).toBe('NOT_A_PARTICIPANT');
    expect(refusalOf(r.send({ type: 'setCoHost', by: host, userId: host, coHost: true }))).toBe('VALIDATION_FAILED');
    const made = accepted(r.send({ type: 'setCoHost', by: host, userId: 'cora', coHost: true }));
    expect(made.notices).toEqual([{ type: 'participant:updated', participant: expect.objectContaining({ userId: 'cora', role: 'co_host' }) }]);
    expect(made.changes).toEqual([]);
    expect(accepted(r.send({ type: 'setCoHost', by: host, userId: 'cora', coHost: true })).changed).toBe(false);

    // Lobby news goes to every moderator.
    expect(accepted(r.join('dee')).notices).toContainEqual({ type: 'lobby:entered', moderators: [host, 'cora'], userId: 'dee', displayName: 'dee' });
    accepted(r.admit('ann', 'cora'));
    accepted(r.send({ type: 'reject', by: 'cora', userId: 'bob' }));
    accepted(r.send({ type: 'requestMute', by: 'cora', userId: null }));
    accepted(r.send({ type: 'remove', by: 'cora', userId: 'ann' }));
    expect(refusalOf(r.send({ type: 'remove', by: 'cora', userId: host }))).toBe('VALIDATION_FAILED');
    expect(refusalOf(r.send({ type: 'end', by: 'cora' }))).toBe('NOT_HOST');
    expect(refusalOf(r.configure({ lock_room: false }, 'cora'))).toBe('NOT_HOST');

    // The host away, the co-host still runs the lobby.
    r.leave(host);
    accepted(r.send({ type: 'admitAll', by: 'cora' }));
    expect(r.members()).toEqual(['cora', 'dee']);

    // A guest again: nothing more.
    r.join(host);
    accepted(r.send({ type: 'setCoHost', by: host, userId: 'cora', coHost: false }));
    expect(r.ctx.participants.cora!.role).toBe('guest');
    expect(refusalOf(r.send({ type: 'rejectAll', by: 'cora' }))).toBe('NOT_HOST');
    // Only the host removes a co-host.
    accepted(r.send({ type: 'setCoHost', by: host, userId: 'dee', coHost: true }));
    accepted(r.send({ type: 'setCoHost', by: host, userId: 'cora', coHost: true }));
    expect(refusalOf(r.send({ type: 'remove', by: 'cora', userId: 'dee' }))).toBe('NOT_HOST');
    accepted(r.send({ type: 'remove', by: host, userId: 'dee' }));
  });

  it('turning lock_room off admits everyone waiting, in arrival order, as far as seats allow', () => {
    const r = room({ lock_room: true, max_participants: 2 });
    r.join(host);
    for (const user of ['u1', 'u2', 'u3']) {
      r.join(user);
      r.advance(10);
    }
    const unlocked = accepted(r.configure({ lock_room: false }));
    expect(r.members()).toEqual([host, 'u1', 'u2'].sort());
    expect(r.waiting()).toEqual(['u3']);
    expect(unlocked.changes[0]).toEqual({ kind: 'settingsChanged', settings: { lock_room: false, enable_transcription: false, max_participants: 2 } });
    // Open again: the next joiner comes straight in while a seat is free.
    r.send({ type: 'leave', userId: 'u1', reason: 'left' });
    r.join('u4');
    expect(r.members()).toEqual([host, 'u2', 'u4'].sort());
  });

  it('admit-all admits in order up to the cap and leaves the rest waiting', () => {
    const r = room({ lock_room: true, max_participants: 3 });
    r.join(host);
    r.join('a');
    r.admit('a');
    for (const user of ['b', 'c', 'd']) {
      r.advance(1);
      r.join(user);
    }
    expect(refusalOf(r.send({ type: 'admitAll', by: 'a' }))).toBe('NOT_HOST');
    accepted(r.send({ type: 'admitAll', by: host }));
    expect(r.members()).toEqual(['a', 'b', 'c', host].sort());
    expect(r.waiting()).toEqual(['d']);
  });
});

describe('room machine: the cap', () => {
  it('max_participants counts everyone but the host; the host always gets in', () => {
    const r = room({ max_participants: 2 });
    r.join('early'); // waits: the host has not started
    r.join(host);
    r.join('ann');
    expect(r.members()).toEqual(['ann', 'early', host].sort());
    expect(refusalOf(r.join('bob'))).toBe('ROOM_FULL');
    r.leave(host);
    expect(accepted(r.join(host)).changed).toBe(true);
    expect(r.members()).toHaveLength(3);
  });

  it('admit into a full room is refused and the user keeps waiting', () => {
    const r = room({ lock_room: true, max_participants: 2 });
    r.join(host);
    for (const user of ['a', 'b', 'c']) r.join(user);
    r.admit('a');
    r.admit('b');
    expect(refusalOf(r.admit('c'))).toBe('ROOM_FULL');
    expect(r.waiting()).toEqual(['c']);
    r.leave('a');
    accepted(r.admit('c'));
  });

  it('lowering the cap keeps who is in and blocks newcomers', () => {
    const r = room();
    r.join(host);
    for (const user of ['a', 'b', 'c']) r.join(user);
    accepted(r.configure({ max_participants: 2 }));
    expect(r.members()).toHaveLength(4);
    expect(refusalOf(r.join('d'))).toBe('ROOM_FULL');
  });
});

describe('room machine: leaving and removal', () => {
  it('leave is idempotent and works from the lobby too', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.join('ann');
    expect(accepted(r.leave('ann')).notices).toEqual([{ type: 'lobby:left', moderators: [host], userId: 'ann' }]);
    r.configure({ lock_room: false });
    r.join('ann');
    const left = accepted(r.leave('ann'));
    expect(left.changes).toEqual([{ kind: 'attendanceClosed', userId: 'ann', reason: 'left', at: 1_000 }]);
    expect(left.notices).toEqual([leftNotice('ann', 'left')]);
    const again = accepted(r.leave('ann'));
    expect(again.changed).toBe(false);
    expect(again.changes).toEqual([]);
  });

  it('removal closes the attendance and bars the user from joining again', () => {
    const r = room();
    r.join(host);
    r.join('ann');
    expect(refusalOf(r.send({ type: 'remove', by: 'ann', userId: host }))).toBe('NOT_HOST');
    const removed = accepted(r.send({ type: 'remove', by: host, userId: 'ann' }));
    expect(removed.changes).toEqual([{ kind: 'attendanceClosed', userId: 'ann', reason: 'removed', at: 1_000 }]);
    expect(removed.notices).toEqual([leftNotice('ann', 'removed'), { type: 'participant:removed', userId: 'ann' }]);
    expect(refusalOf(r.join('ann'))).toBe('REMOVED_FROM_ROOM');
    r.configure({ lock_room: true });
    expect(refusalOf(r.join('ann'))).toBe('REMOVED_FROM_ROOM');
    expect(refusalOf(r.send({ type: 'remove', by: host, userId: 'ann' }))).toBe('NOT_A_PARTICIPANT');
    expect(refusalOf(r.send({ type: 'remove', by: host, userId: host }))).toBe('VALIDATION_FAILED');
  });

  it('only the host and participants see the participant list', () => {
    const r = room({ lock_room: true });
    expect(accepted(r.send({ type: 'viewParticipants', by: host })).changed).toBe(false);
    r.join(host);
    r.join('ann');
    expect(refusalOf(r.send({ type: 'viewParticipants', by: 'ann' }))).toBe('NOT_A_PARTICIPANT');
    r.admit('ann');
    expect(r.send({ type: 'viewParticipants', by: 'ann' }).refused).toBeNull();
    expect(refusalOf(r.send({ type: 'viewParticipants', by: 'stranger' }))).toBe('NOT_A_PARTICIPANT');
  });

  it('by the same rule, a waiting user attaching is told their status and nothing about the room’s people', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.attach(host);
    r.speak(host);
    r.join('ann');
    const attachOf = (userId: string) => {
      const command = { type: 'attach' as const, userId, connectionId: `${userId}-socket` };
      const before = r.ctx;
      return replyTo(command, before, accepted(r.send(command)).snapshot);
    };
    expect(attachOf('ann')).toMatchObject({ joined: false, participants: [], lobby: [], activeSpeaker: null });
    expect(attachOf(host)).toMatchObject({
      joined: true,
      participants: [expect.objectContaining({ userId: host })],
      lobby: [expect.objectContaining({ userId: 'ann' })],
      activeSpeaker: host,
    });
    r.admit('ann');
    const admitted = attachOf('ann');
    expect(admitted).toMatchObject({ joined: true, activeSpeaker: host });
    expect(admitted.participants.map((p) => p.userId).sort()).toEqual(['ann', host].sort());
  });
});

describe('room machine: settings', () => {
  it('configure is host-only, merges, and announces only real changes', () => {
    const r = room();
    expect(refusalOf(r.configure({ enable_transcription: true }, 'ann'))).toBe('NOT_HOST');
    const changed = accepted(r.configure({ enable_transcription: true }));
    // Not started yet: the room is still pending.
    expect(changed.notices).toEqual([{ type: 'room:updated', settings: settingsOf(r.snapshot), status: 'pending', schedule: unscheduled }]);
    expect(settingsOf(r.snapshot)).toEqual({ lock_room: false, enable_transcription: true, max_participants: 100 });
    const same = accepted(r.configure({ enable_transcription: true }));
    expect(same.changed).toBe(false);
    expect(same.notices).toEqual([]);
  });

  it("a room's own speaker tuning: set, told to the nodes with the settings, sent with every channel join, cleared with null", () => {
    const r = room();
    accepted(r.join(host));
    accepted(r.attach(host));
    const tuned = accepted(r.configure({ speaker_min_ms: 150 }));
    expect(tuned.notices).toEqual([
      {
        type: 'room:updated',
        settings: { lock_room: false, enable_transcription: false, max_participants: 100, speaker_min_ms: 150 },
        status: 'active',
        schedule: unscheduled,
      },
      { type: 'speaker:tuned', tuning: { thresholdDb: null, minMs: 150 } },
    ]);
    expect(tuned.changes).toEqual([{ kind: 'settingsChanged', settings: settingsOf(r.snapshot) }]);
    // Keys keep the contract's order whichever came first.
    accepted(r.configure({ speaker_threshold_db: -30 }));
    expect(Object.keys(settingsOf(r.snapshot))).toEqual(['lock_room', 'enable_transcription', 'max_participants', 'speaker_threshold_db', 'speaker_min_ms']);
    // Another setting leaves the tuning alone and does not announce it.
    expect(accepted(r.configure({ lock_room: true, speaker_min_ms: 150 })).notices.map((n) => n.type)).toEqual(['room:updated']);
    accepted(r.configure({ lock_room: false }));
    // A participant's socket joining the channel brings the room's tuning to its node.
    accepted(r.join('ann'));
    expect(accepted(r.attach('ann')).notices).toContainEqual({ type: 'channel:join', connections: ['ann-socket'], tuning: { thresholdDb: -30, minMs: 150 } });
    // Null goes back to the server's value: the key disappears, and the nodes hear it.
    const cleared = accepted(r.configure({ speaker_threshold_db: null, speaker_min_ms: null }));
    expect(settingsOf(r.snapshot)).toEqual({ lock_room: false, enable_transcription: false, max_participants: 100 });
    expect(cleared.notices).toContainEqual({ type: 'speaker:tuned', tuning: { thresholdDb: null, minMs: null } });
    expect(accepted(r.configure({ speaker_min_ms: null })).notices).toEqual([]);
    // A room without its own tuning sends none with a join.
    accepted(r.attach('ann', 'ann-tab-2'));
    expect(accepted(r.send({ type: 'attach', userId: host, connectionId: 'host-tab-2' })).notices).toContainEqual({
      type: 'channel:join',
      connections: ['host-tab-2'],
    });
  });
});

describe('room machine: empty-room deadline', () => {
  it('an active room that empties gets a deadline; rejoining clears it; expiry ends the room', () => {
    const r = room();
    r.join(host);
    expect(r.ctx.emptyDeadline).toBeNull();
    r.advance(1_000);
    r.leave(host);
    expect(r.ctx.emptyDeadline).toBe(2_000 + timeoutMs);

    r.advance(1_000);
    r.join(host);
    expect(r.ctx.emptyDeadline).toBeNull();
    r.leave(host);
    const deadline = r.ctx.emptyDeadline!;

    r.advance(timeoutMs - 1);
    expect(accepted(r.send({ type: 'expire' })).changed).toBe(false);
    expect(r.status).toBe('active');
    r.advance(1);
    const ended = accepted(r.send({ type: 'expire' }));
    expect(r.status).toBe('ended');
    expect(r.ctx.endedAt).toBe(deadline);
    expect(ended.changes).toEqual([{ kind: 'roomEnded', at: deadline }]);
  });

  it('with a solo timeout, a room left with one participant ends once it passes; company clears it', () => {
    const soloMs = 60_000;
    const r = room({}, { soloMs });
    r.join(host);
    r.attach(host); // no reconnect grace to run out meanwhile
    expect(r.ctx.soloDeadline).toBe(1_000 + soloMs);
    r.advance(1_000);
    r.join('ann');
    expect(r.ctx.soloDeadline).toBeNull();
    r.advance(1_000);
    r.leave('ann');
    const deadline = r.ctx.soloDeadline!;
    expect(deadline).toBe(3_000 + soloMs);

    r.advance(soloMs - 1);
    expect(accepted(r.send({ type: 'expire' })).changed).toBe(false);
    expect(r.status).toBe('active');
    r.advance(1);
    const ended = accepted(r.send({ type: 'expire' }));
    expect(r.status).toBe('ended');
    expect(r.ctx.endedAt).toBe(deadline);
    expect(ended.notices).toEqual([{ type: 'room:ended', at: deadline, userIds: [host] }]);
    expect(r.ctx.soloDeadline).toBeNull();
  });

  it('without a solo timeout (the default) a room with one participant never ends by itself', () => {
    const r = room();
    r.join(host);
    r.attach(host);
    expect(r.ctx.soloDeadline).toBeNull();
    r.advance(7 * 86_400_000);
    accepted(r.send({ type: 'expire' }));
    expect(r.status).toBe('active');
  });

  it('a stale expiry does nothing once someone is back', () => {
    const r = room();
    r.join(host);
    r.leave(host);
    r.advance(timeoutMs);
    r.join('ann');
    expect(accepted(r.send({ type: 'expire' })).changed).toBe(false);
    expect(r.status).toBe('active');
  });

  it('a pending room has no deadline', () => {
    const r = room();
    r.join('ann');
    r.leave('ann');
    expect(r.ctx.emptyDeadline).toBeNull();
    r.advance(timeoutMs * 2);
    accepted(r.send({ type: 'expire' }));
    expect(r.status).toBe('pending');
  });
});

describe('room machine: restoring a stored room', () => {
  it('rebuilds the state from the stored status; the lock and the speaker come from the context', () => {
    const r = room({ lock_room: true });
    r.join(host);
    r.join('ann');
    const restored = restoreRoomSnapshot('active', r.ctx, true);
    // The host alone in it (Ann waits): solo; nobody speaks.
    expect(restored.value).toEqual({ lifecycle: { active: 'solo' }, admission: 'locked', speaker: 'silent' });
    const knock = step(restored, { type: 'join', userId: 'bob', displayName: 'bob', language: null, hardwareReady: false, at: 5_000 });
    expect(knock.refused).toBeNull();
    if (knock.refused === null) expect(Object.keys(knock.snapshot.context.lobby).sort()).toEqual(['ann', 'bob']);
    const next = step(restored, { type: 'admit', by: host, userId: 'ann', at: 5_000 });
    expect(next.refused).toBeNull();
    expect(restoreRoomSnapshot('ended', r.ctx, true).matches({ lifecycle: 'ended' })).toBe(true);
  });
});

describe('room machine: the state value shows its modes', () => {
  const value = (lifecycle: unknown, admission: 'open' | 'locked', speaker: 'silent' | 'speaking') => ({ lifecycle, admission, speaker });

  it('lifecycle with occupancy: entering empty or solo arms its deadline, leaving it clears it', () => {
    const r = room({}, { soloMs: 60_000 });
    expect(r.snapshot.value).toEqual(value('pending', 'open', 'silent'));
    accepted(r.join(host));
    expect(r.snapshot.value).toEqual(value({ active: 'solo' }, 'open', 'silent'));
    expect(r.ctx.soloDeadline).toBe(1_000 + 60_000);
    r.advance(1_000);
    accepted(r.join('ann'));
    expect(r.snapshot.value).toEqual(value({ active: 'occupied' }, 'open', 'silent'));
    expect(r.ctx.soloDeadline).toBeNull();
    accepted(r.leave('ann'));
    expect(r.snapshot.value).toEqual(value({ active: 'solo' }, 'open', 'silent'));
    expect(r.ctx.soloDeadline).toBe(2_000 + 60_000);
    accepted(r.leave(host));
    expect(r.snapshot.value).toEqual(value({ active: 'empty' }, 'open', 'silent'));
    expect([r.ctx.soloDeadline, r.ctx.emptyDeadline]).toEqual([null, 2_000 + timeoutMs]);
    accepted(r.join('bob'));
    expect(r.snapshot.value).toEqual(value({ active: 'solo' }, 'open', 'silent'));
    expect([r.ctx.soloDeadline, r.ctx.emptyDeadline]).toEqual([2_000 + 60_000, null]);
    accepted(r.send({ type: 'end', by: host }));
    expect(r.snapshot.value).toEqual(value('ended', 'open', 'silent'));
  });

  it('without SOLO_ROOM_TIMEOUT_S a solo room has no deadline', () => {
    const r = room();
    accepted(r.join(host));
    expect(r.snapshot.value).toEqual(value({ active: 'solo' }, 'open', 'silent'));
    expect(r.ctx.soloDeadline).toBeNull();
  });

  it('admission: the lock is a state, not context; the settings say what the state is', () => {
    const r = room({ lock_room: true });
    expect(r.snapshot.value).toEqual(value('pending', 'locked', 'silent'));
    expect(r.ctx.settings).not.toHaveProperty('lock_room');
    expect(settingsOf(r.snapshot).lock_room).toBe(true);
    accepted(r.join(host));
    accepted(r.join('ann'));
    expect(r.waiting()).toEqual(['ann']);
    // Only the host moves it: a refused configure leaves the room locked.
    expect(refusalOf(r.configure({ lock_room: false }, 'ann'))).toBe('NOT_HOST');
    expect(r.snapshot.value).toMatchObject({ admission: 'locked' });
    const unlocked = accepted(r.configure({ lock_room: false }));
    expect(r.snapshot.value).toMatchObject({ admission: 'open' });
    expect(unlocked.changes).toContainEqual({ kind: 'settingsChanged', settings: { lock_room: false, enable_transcription: false, max_participants: 100 } });
    expect(r.members()).toEqual(['ann', host].sort());
    accepted(r.configure({ lock_room: true }));
    expect(r.snapshot.value).toMatchObject({ admission: 'locked' });
    // An ended room keeps the lock it had, and refuses to change it.
    accepted(r.send({ type: 'end', by: host }));
    expect(refusalOf(r.configure({ lock_room: false }))).toBe('ROOM_NOT_FOUND');
    expect(r.snapshot.value).toEqual(value('ended', 'locked', 'silent'));
  });

  it('speaker: speaking while someone has the floor, the context saying who', () => {
    const r = room();
    accepted(r.join(host));
    accepted(r.join('ann'));
    accepted(r.speak('ann'));
    expect(r.snapshot.value).toEqual(value({ active: 'occupied' }, 'open', 'speaking'));
    expect(r.ctx.activeSpeaker).toBe('ann');
    // The floor goes with the speaker who leaves.
    accepted(r.leave('ann'));
    expect(r.snapshot.value).toEqual(value({ active: 'solo' }, 'open', 'silent'));
    expect(r.ctx.activeSpeaker).toBeNull();
  });
});

describe('room machine: a room nobody started (UNUSED_ROOM_TIMEOUT_S)', () => {
  const unusedMs = 86_400_000;

  it('ends by itself at its deadline, counted from its creation, and tells whoever waits', () => {
    const r = room({}, { unusedMs });
    expect(r.ctx.unusedDeadline).toBe(0 + unusedMs);
    accepted(r.join('ann'));
    expect(r.waiting()).toEqual(['ann']);
    r.advance(unusedMs - 2_000);
    // Early: nothing but the graces (Ann has no socket, so her grace ran out long ago).
    accepted(r.send({ type: 'expire' }));
    expect(r.status).toBe('pending');
    r.advance(1_000);
    const ended = accepted(r.send({ type: 'expire' }));
    expect(r.status).toBe('ended');
    expect(ended.changes).toEqual([{ kind: 'roomEnded', at: unusedMs }]);
    expect(r.ctx.unusedDeadline).toBeNull();
  });

  it('starting the room lets the deadline go', () => {
    const r = room({}, { unusedMs });
    accepted(r.join(host));
    expect(r.status).toBe('active');
    expect(r.ctx.unusedDeadline).toBeNull();
    r.advance(unusedMs);
    accepted(r.send({ type: 'expire' }));
    expect(r.status).toBe('active');
  });

  it('0 turns it off', () => {
    const r = room();
    expect(r.ctx.unusedDeadline).toBeNull();
  });
});

describe('room machine: scheduled meetings', () => {
  const hour = 3_600_000;
  const unusedMs = 86_400_000;

  it('the host schedules a pending room: stored, announced, and the unused-room deadline counts from the start', () => {
    const r = room({}, { unusedMs });
    const at = 1_000;
    const result = accepted(r.reschedule({ startAt: at + hour, endAt: at + 2 * hour }));
    const schedule = { startAt: at + hour, endAt: at + 2 * hour };
    expect(r.ctx.schedule).toEqual(schedule);
    expect(result.changes).toEqual([{ kind: 'scheduleChanged', schedule }]);
    expect(result.notices).toEqual([{ type: 'room:updated', settings: settingsOf(r.snapshot), status: 'pending', schedule }]);
    expect(r.ctx.unusedDeadline).toBe(at + hour + unusedMs);
    // Setting the same again changes nothing and announces nothing.
    const same = accepted(r.reschedule({ startAt: at + hour }));
    expect(same.changed).toBe(false);
    expect(same.notices).toEqual([]);
  });

  it('clearing the start clears the end, and the deadline counts from creation again', () => {
    const r = room({}, { unusedMs });
    accepted(r.reschedule({ startAt: 1_000 + hour, endAt: 1_000 + 2 * hour }));
    accepted(r.reschedule({ startAt: null }));
    expect(r.ctx.schedule).toEqual(unscheduled);
    expect(r.ctx.unusedDeadline).toBe(0 + unusedMs);
  });

  it.each([
    ['a start in the past', { startAt: 0 }, 'scheduled_start_at must be in the future'],
    ['a start more than 366 days ahead', { startAt: 1_000 + 367 * 24 * hour }, 'scheduled_start_at must be at most 366 days ahead'],
    ['an end without a start', { endAt: 1_000 + hour }, 'scheduled_end_at needs a scheduled_start_at'],
    ['an end before the start', { startAt: 1_000 + 2 * hour, endAt: 1_000 + hour }, 'scheduled_end_at must be after scheduled_start_at'],
  ])('refuses %s with VALIDATION_FAILED and changes nothing', (_name, patch, detail) => {
    const r = room({}, { unusedMs });
    const before = r.snapshot;
    expect(r.reschedule(patch).refused).toEqual({ code: 'VALIDATION_FAILED', detail });
    expect(r.snapshot).toBe(before);
  });

  it('only the host reschedules, and an ended room refuses', () => {
    const r = room();
    accepted(r.join(host));
    accepted(r.join('ann'));
    expect(refusalOf(r.reschedule({ startAt: 1_000 + hour }, 'ann'))).toBe('NOT_HOST');
    accepted(r.send({ type: 'end', by: host }));
    expect(refusalOf(r.reschedule({ startAt: 1_000 + hour }))).toBe('ROOM_NOT_FOUND');
  });

  it('a meeting that has started keeps its start, but its planned end may move', () => {
    const r = room();
    accepted(r.reschedule({ startAt: 1_000 + hour, endAt: 1_000 + 2 * hour }));
    // Early: the host starts before the planned time, as a host may.
    accepted(r.join(host));
    expect(r.status).toBe('active');
    expect(r.reschedule({ startAt: 1_000 + 3 * hour }).refused?.detail).toBe('scheduled_start_at cannot change once the meeting has started');
    const moved = accepted(r.reschedule({ endAt: 1_000 + 3 * hour }));
    expect(moved.changes).toEqual([{ kind: 'scheduleChanged', schedule: { startAt: 1_000 + hour, endAt: 1_000 + 3 * hour } }]);
  });
});

describe('room machine: invitations', () => {
  it("an invited joiner skips a locked room's lobby, but never its cap", () => {
    const r = room({ lock_room: true, max_participants: 2 });
    accepted(r.join(host));
    accepted(r.join('stranger'));
    expect(r.waiting()).toEqual(['stranger']);
    const joined = accepted(r.joinInvited('ann'));
    expect(joined.changes).toEqual([{ kind: 'attendanceOpened', userId: 'ann', role: 'guest', at: 1_000 }]);
    accepted(r.joinInvited('bob'));
    expect(r.members()).toEqual(['ann', 'bob', host].sort());
    expect(r.joinInvited('cat').refused?.code).toBe('ROOM_FULL');
    expect(r.waiting()).toEqual(['stranger']);
  });

  it('before the host starts, invitees wait; a locked room lets only them in with the host, as seats allow', () => {
    const r = room({ lock_room: true, max_participants: 2 });
    accepted(r.join('stranger'));
    accepted(r.joinInvited('ann'));
    accepted(r.joinInvited('bob'));
    accepted(r.joinInvited('cat'));
    expect(r.ctx.lobby.ann!.invited).toBe(true);
    expect(r.ctx.lobby.stranger!.invited).toBe(false);
    const started = accepted(r.join(host));
    expect(r.members()).toEqual(['ann', 'bob', host].sort());
    expect(r.waiting()).toEqual(['cat', 'stranger']);
    expect(started.notices.filter((n) => n.type === 'lobby:admitted')).toEqual([
      { type: 'lobby:admitted', userId: 'ann' },
      { type: 'lobby:admitted', userId: 'bob' },
    ]);
  });

  it('an invitee who waited in a locked room comes in by joining again once a seat is free', () => {
    const r = room({ lock_room: true, max_participants: 2 });
    accepted(r.join(host));
    accepted(r.joinInvited('ann'));
    accepted(r.joinInvited('bob'));
    accepted(r.join('cat'));
    accepted(r.leave('bob'));
    accepted(r.joinInvited('cat'));
    expect(r.members()).toEqual(['ann', 'cat', host].sort());
  });

  it('an invitation never overrides a removal or an ended room', () => {
    const r = room({ lock_room: true });
    accepted(r.join(host));
    accepted(r.joinInvited('ann'));
    accepted(r.send({ type: 'remove', by: host, userId: 'ann' }));
    expect(r.joinInvited('ann').refused?.code).toBe('REMOVED_FROM_ROOM');
    accepted(r.send({ type: 'end', by: host }));
    expect(r.joinInvited('bob').refused?.code).toBe('ROOM_NOT_FOUND');
  });
});

describe('room machine: ending at the scheduled end (end_at_scheduled_end)', () => {
  const minute = 60_000;
  const warningMs = 5 * minute;

  /** A running meeting planned from t = 1 s + 10 min to + 70 min, its host in. */
  function scheduledMeeting(settings: Partial<RoomSettings> = {}) {
    const r = room(settings, { warningMs });
    const startAt = 1_000 + 10 * minute;
    const endAt = startAt + 60 * minute;
    accepted(r.reschedule({ startAt, endAt }));
    accepted(r.join(host));
    accepted(r.attach(host));
    // The clock starts at 1 s: moves it to `at`.
    let now = 1_000;
    const advanceTo = (at: number) => {
      r.advance(at - now);
      now = at;
    };
    return { r, endAt, advanceTo };
  }

  it('off by default: the meeting runs past its planned end', () => {
    const { r, endAt, advanceTo } = scheduledMeeting();
    expect(r.ctx.closingDeadline).toBeNull();
    advanceTo(endAt);
    accepted(r.send({ type: 'expire' }));
    expect(r.status).toBe('active');
  });

  it('on: everyone is warned SCHEDULED_END_WARNING_S before, once, then the room ends at the planned end', () => {
    const { r, endAt, advanceTo } = scheduledMeeting({ end_at_scheduled_end: true });
    expect([r.ctx.closingDeadline, r.ctx.closingWarning]).toEqual([endAt, endAt - warningMs]);
    advanceTo(endAt - warningMs - 1_000);
    expect(accepted(r.send({ type: 'expire' })).notices).toEqual([]);
    advanceTo(endAt - warningMs);
    const warned = accepted(r.send({ type: 'expire' }));
    expect(warned.notices).toEqual([{ type: 'room:ending', endsAt: endAt }]);
    expect(r.ctx.closingWarning).toBeNull();
    expect(accepted(r.send({ type: 'expire' })).notices).toEqual([]);
    advanceTo(endAt);
    const ended = accepted(r.send({ type: 'expire' }));
    expect(r.status).toBe('ended');
    expect(ended.changes).toEqual([{ kind: 'roomEnded', at: endAt }]);
    expect(ended.notices).toEqual([{ type: 'room:ended', at: endAt, userIds: [host] }]);
  });

  it('turned on inside the warning window warns at the next tick; moving the end re-arms; turning it off lets the meeting run', () => {
    const { r, endAt, advanceTo } = scheduledMeeting();
    advanceTo(endAt - 2 * minute);
    const on = accepted(r.configure({ end_at_scheduled_end: true }));
    expect(on.changes).toEqual([{ kind: 'settingsChanged', settings: expect.objectContaining({ end_at_scheduled_end: true }) }]);
    expect(r.ctx.closingWarning).toBe(endAt - 2 * minute);
    expect(accepted(r.send({ type: 'expire' })).notices).toEqual([{ type: 'room:ending', endsAt: endAt }]);
    const later = endAt + 30 * minute;
    accepted(r.reschedule({ endAt: later }));
    expect([r.ctx.closingDeadline, r.ctx.closingWarning]).toEqual([later, later - warningMs]);
    accepted(r.configure({ end_at_scheduled_end: false }));
    expect(settingsOf(r.snapshot)).not.toHaveProperty('end_at_scheduled_end');
    expect([r.ctx.closingDeadline, r.ctx.closingWarning]).toEqual([null, null]);
    advanceTo(later);
    accepted(r.send({ type: 'expire' }));
    expect(r.status).toBe('active');
  });

  it('a pending room has no closing until it starts', () => {
    const r = room({ end_at_scheduled_end: true }, { warningMs });
    accepted(r.reschedule({ startAt: 1_000 + minute, endAt: 1_000 + 2 * minute }));
    expect(r.ctx.closingDeadline).toBeNull();
    accepted(r.join(host));
    expect(r.ctx.closingDeadline).toBe(1_000 + 2 * minute);
  });
});

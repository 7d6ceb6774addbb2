import { accepted, host, room } from '../support/room-machine';

/**
 * The speaker region of the room machine (docs/realtime.md "Active speaker"). The detectors on the socket nodes send
 * only `speakingStarted` (with the level the speech started at) and `speakingStopped`; the room
 * decides who has the floor.
 */

const changedTo = (userId: string | null, at: number) => ({ type: 'speaker:changed', userId, at });

function meeting() {
  const r = room();
  r.join(host);
  r.join('ann');
  r.join('bob');
  return r;
}

describe('room machine: active speaker', () => {
  it('the first to start speaking gets the floor, announced once', () => {
    const r = meeting();
    const started = accepted(r.speak('ann', -30));
    expect(started.notices).toEqual([changedTo('ann', 1_000)]);
    expect(r.ctx.activeSpeaker).toBe('ann');
    // Speaking on: no change, no notice.
    expect(accepted(r.speak('ann', -25)).notices).toEqual([]);
  });

  it('the speaker stays active through silence until someone else starts', () => {
    const r = meeting();
    r.speak('ann', -30);
    const stopped = accepted(r.stop('ann'));
    expect(stopped.notices).toEqual([]);
    expect(r.ctx.activeSpeaker).toBe('ann');
    r.advance(10_000);
    expect(accepted(r.speak('bob', -50)).notices).toEqual([changedTo('bob', 11_000)]);
  });

  it('a still-speaking, louder speaker keeps the floor; a quieter or equal one loses it', () => {
    const r = meeting();
    r.speak('ann', -20);
    expect(accepted(r.speak('bob', -30)).notices).toEqual([]);
    expect(r.ctx.activeSpeaker).toBe('ann');

    const r2 = meeting();
    r2.speak('ann', -30);
    expect(accepted(r2.speak('bob', -20)).notices).toEqual([changedTo('bob', 1_000)]);

    // A tie is not "louder": the newcomer takes the floor.
    const r3 = meeting();
    r3.speak('ann', -25);
    expect(accepted(r3.speak('bob', -25)).notices).toEqual([changedTo('bob', 1_000)]);
  });

  it('when the louder speaker stops, the loudest one still speaking takes over', () => {
    const r = meeting();
    r.speak('ann', -10);
    r.speak('bob', -30);
    r.speak(host, -20);
    expect(r.ctx.activeSpeaker).toBe('ann');
    r.advance(200);
    expect(accepted(r.stop('ann')).notices).toEqual([changedTo(host, 1_200)]);
    expect(accepted(r.stop(host)).notices).toEqual([changedTo('bob', 1_200)]);
    expect(accepted(r.stop('bob')).notices).toEqual([]);
    expect(r.ctx.activeSpeaker).toBe('bob');
  });

  it('the speaker leaving clears the floor (null), announced once', () => {
    const r = meeting();
    r.speak('ann', -30);
    r.advance(50);
    const left = accepted(r.leave('ann'));
    expect(left.notices.filter((n) => n.type === 'speaker:changed')).toEqual([changedTo(null, 1_050)]);
    expect(r.ctx.activeSpeaker).toBeNull();
  });

  it('waiting users, strangers and pending rooms change nothing', () => {
    const locked = room({ lock_room: true });
    locked.join(host);
    locked.join('ann');
    expect(accepted(locked.speak('ann')).changed).toBe(false);
    expect(accepted(locked.speak('stranger')).changed).toBe(false);
    expect(locked.ctx.activeSpeaker).toBeNull();

    const pending = room();
    pending.join('ann');
    expect(accepted(pending.speak('ann')).changed).toBe(false);
  });

  it('speaking changes no durable state and the live projection only on a change of speaker', () => {
    const r = meeting();
    const first = accepted(r.speak('ann', -20));
    expect(first.changes).toEqual([]);
    const second = accepted(r.speak('bob', -30));
    expect(second.changes).toEqual([]);
    expect(second.snapshot.context.activeSpeaker).toBe('ann');
  });
});

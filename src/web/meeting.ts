import { MeetingError, reportLevels, type AttachData, type MeetingClient, type RoomView } from '../client';
import { createLocalMedia, previewVideo, type LocalMedia } from './devices';
import { errorBox, h, showScreen } from './dom';
import { levelMeter, showPrejoin } from './prejoin';
import { roomView, type RoomState } from './room-view';

/** A screen after which the meeting is over for this page: media and connection are closed. */
function showOutcome(name: string, title: string, text: string, action?: { label: string; run: () => void }): void {
  showScreen(
    name,
    h('h1', {}, title),
    h('p', { class: 'lead' }, text),
    h('p', {}, action ? h('button', { type: 'button', class: 'primary', onclick: action.run }, action.label) : null, ' ', h('a', { href: '/' }, 'Home')),
  );
}

const showEnded = () => showOutcome('ended', 'This meeting has ended', 'The host ended it.');
const showNotFound = () => showOutcome('not-found', 'No such meeting', 'Check the link: it may be mistyped or incomplete.');

/** The share link: the room's details, then devices, then the lobby or the room. */
export async function openMeeting(client: MeetingClient, roomCode: string): Promise<void> {
  let room: RoomView;
  try {
    room = await client.meetings.getRoom(roomCode);
  } catch (error) {
    if (error instanceof MeetingError && error.code === 'ROOM_NOT_FOUND') return showNotFound();
    throw error;
  }
  if (room.status === 'ended') return showEnded();
  runMeeting(client, room, createLocalMedia());
}

/** One meeting on this page: every event of the room changes `state` and redraws the screen. */
function runMeeting(client: MeetingClient, room: RoomView, media: LocalMedia): void {
  const code = room.room_code;
  const me = client.session!.user;
  const isHost = room.host_id === me.id;
  const state: RoomState = { room, settings: room.settings, participants: new Map(), lobby: new Map(), activeSpeaker: null, connection: 'connected' };
  let phase: 'prejoin' | 'waiting' | 'room' | 'rejected' | 'over' = 'prejoin';
  /** This page pressed Leave: its own participant:left may come before the answer. */
  let leaving = false;
  let stopLevels: (() => void) | undefined;
  /** Stops the meter of the prejoin or waiting screen. */
  let stopScreenMeter: (() => void) | undefined;
  const unsubscribe: (() => void)[] = [];
  /** The one preview of the local camera, moved between the prejoin, waiting and room screens. */
  const selfVideo = previewVideo();
  const view = roomView(me.id, isHost, selfVideo, {
    leave: () =>
      act(async () => {
        leaving = true;
        await client.meetings.leave(code);
        showLeft('The others can carry on.');
      }),
    admit: (userId) => act(async () => (await client.meetings.admit(code, userId), forgetWaiting(userId))),
    reject: (userId) => act(async () => (await client.meetings.reject(code, userId), forgetWaiting(userId))),
    admitAll: () => act(async () => (await client.meetings.admitAll(code)).admitted.forEach(forgetWaiting)),
    rejectAll: () => act(async () => (await client.meetings.rejectAll(code)).rejected.forEach(forgetWaiting)),
    remove: (userId) => act(() => client.meetings.remove(code, userId)),
    setCoHost: (userId, coHost) => act(() => (coHost ? client.meetings.grantCoHost(code, userId) : client.meetings.revokeCoHost(code, userId))),
    setLocked: (locked) => act(async () => ((state.settings = (await client.meetings.configure(code, { lock_room: locked })).settings), draw())),
    end: () => act(async () => (await client.meetings.end(code), finish(showEnded))),
    copyLink: (input) => {
      input.select();
      navigator.clipboard?.writeText(input.value).then(
        () => notify('Link copied'),
        () => notify('Press Ctrl+C (⌘C) to copy the selected link'),
      );
    },
  });

  const draw = () => phase === 'room' && view.update(state);
  type LobbyChange = (lobby: RoomState['lobby']) => void;
  /** Lobby changes heard while the lobby is being fetched, to apply again on top of what the fetch returns. */
  let heardWhileFetching: LobbyChange[] | null = null;
  const changeLobby = (change: LobbyChange) => {
    change(state.lobby);
    heardWhileFetching?.push(change);
    draw();
  };
  const forgetWaiting = (userId: string) => changeLobby((lobby) => lobby.delete(userId));
  const notify = (text: string) => {
    const toast = h('p', { class: 'toast', role: 'status' }, text);
    document.getElementById('app')!.append(toast);
    setTimeout(() => toast.remove(), 3000);
  };
  /** Runs a host or leave action; a failure is shown, with its code, above the room. */
  const act = (action: () => Promise<unknown>) => {
    action().catch((error: unknown) => {
      const box = errorBox(error);
      document.querySelector('[data-screen=room]')?.prepend(box);
      setTimeout(() => box.remove(), 6000);
    });
  };

  const finish = (show: () => void) => {
    if (phase === 'over') return;
    phase = 'over';
    stopLevels?.();
    stopScreenMeter?.();
    unsubscribe.forEach((stop) => stop());
    client.disconnect();
    media.stop();
    show();
  };
  const removed = () => finish(() => showOutcome('removed', 'You were removed from this meeting', 'The host removed you. You cannot join this meeting again.'));
  const showLeft = (text: string) => finish(() => showOutcome('left', 'You left the meeting', text, { label: 'Rejoin', run: () => location.reload() }));

  const startLevels = () => {
    if (phase === 'room' && media.meter && !stopLevels) stopLevels = reportLevels(media.meter, (level) => client.sendLevel(code, level));
  };

  const enterRoom = (data: AttachData) => {
    stopScreenMeter?.();
    phase = 'room';
    state.participants = new Map(data.participants.map((participant) => [participant.user_id, participant]));
    state.lobby = new Map((data.lobby ?? []).map((entry) => [entry.user_id, entry]));
    state.activeSpeaker = data.active_speaker;
    state.settings = data.settings;
    if (!document.querySelector('[data-screen=room]')) showScreen('room', view.element);
    draw();
    startLevels();
  };

  const showWaiting = (reason: 'locked' | 'host_not_started') => {
    phase = 'waiting';
    stopScreenMeter?.();
    const meter = levelMeter(media);
    stopScreenMeter = meter.stop;
    const cancel = h('button', { type: 'button' }, 'Cancel');
    cancel.addEventListener('click', () =>
      act(async () => {
        await client.cancelWaiting(code);
        prejoin();
      }),
    );
    showScreen(
      'waiting',
      h('h1', {}, state.room.name),
      h('p', { class: 'lead' }, 'You are in the waiting room.'),
      h(
        'div',
        { class: 'prejoin' },
        h('div', { class: 'stage', 'data-camera': media.stream?.getVideoTracks().length ? 'on' : 'off' }, selfVideo),
        h(
          'div',
          { class: 'card' },
          h('h2', { class: 'waiting' }, reason === 'locked' ? 'Waiting for the host to let you in' : 'The meeting has not started yet: you will be let in when the host arrives.'),
          h('p', { class: 'hint' }, 'Keep this page open. Meanwhile, check your microphone:'),
          meter.element,
          cancel,
        ),
      ),
    );
  };

  /** Attaches (again) and shows whatever the room says this user is now. */
  const attach = async () => {
    const data = await client.attach(code);
    if (phase === 'over') return;
    if (data.status === 'joined') enterRoom(data);
    else if (phase !== 'room') showWaiting(state.room.status === 'pending' ? 'host_not_started' : 'locked');
  };

  const listen = () => {
    const mine = <T extends { room_code: string }>(handler: (payload: T) => void) => (payload: T) => {
      if (payload.room_code === code && phase !== 'over') handler(payload);
    };
    unsubscribe.push(
      client.on('lobby:waiting', mine(({ reason }) => phase === 'waiting' && showWaiting(reason))),
      client.on('lobby:admitted', mine(() => void attach().catch(failed))),
      client.on('lobby:rejected', mine(showRejected)),
      client.on('lobby:entered', mine(({ user_id, display_name }) => changeLobby((lobby) => lobby.set(user_id, { user_id, display_name })))),
      client.on('lobby:left', mine(({ user_id }) => forgetWaiting(user_id))),
      client.on('participant:joined', mine(({ participant }) => {
        state.participants.set(participant.user_id, participant);
        forgetWaiting(participant.user_id);
      })),
      client.on('participant:updated', mine(({ participant }) => {
        const before = state.participants.get(participant.user_id)?.role;
        state.participants.set(participant.user_id, participant);
        draw();
        // Made a co-host: the lobby as it is now, with the lobby events heard meanwhile on top; no longer one: none.
        if (participant.user_id !== me.id || before === participant.role) return;
        if (participant.role !== 'co_host') {
          state.lobby = new Map();
          return void draw();
        }
        heardWhileFetching = [];
        act(async () => {
          try {
            const { lobby = [] } = await client.meetings.participants(code);
            state.lobby = new Map(lobby.map((entry) => [entry.user_id, entry]));
            for (const change of heardWhileFetching ?? []) change(state.lobby);
            draw();
          } finally {
            heardWhileFetching = null;
          }
        });
      })),
      client.on('participant:left', mine(({ user_id, reason }) => {
        state.participants.delete(user_id);
        if (user_id !== me.id) return void draw();
        if (reason === 'removed') removed();
        else if (reason === 'disconnected') showLeft('You were disconnected for too long.');
        else showLeft(leaving ? 'The others can carry on.' : 'You left from another tab or device.');
      })),
      client.on('participant:removed', mine(removed)),
      client.on('speaker:changed', mine(({ user_id }) => ((state.activeSpeaker = user_id), draw()))),
      client.on('room:updated', mine(({ settings, status }) => ((state.settings = settings), (state.room = { ...state.room, status, settings }), draw()))),
      client.on('room:ended', mine(() => finish(showEnded))),
      client.onConnectionState((connection) => ((state.connection = connection === 'connected' ? 'connected' : 'reconnecting'), draw())),
      client.onReattach((outcome) => {
        if (outcome.room_code !== code || phase === 'over') return;
        if (outcome.ok) return outcome.data.status === 'joined' ? enterRoom(outcome.data) : undefined;
        failed(outcome.error);
      }),
    );
  };

  /** The lobby said no: the person may ask again (a new knock) or go. */
  const showRejected = () => {
    phase = 'rejected';
    stopScreenMeter?.();
    showScreen(
      'rejected',
      h('h1', {}, 'The host did not let you in'),
      h('p', { class: 'lead' }, `You asked to join “${state.room.name}”.`),
      h('p', {}, h('button', { type: 'button', class: 'primary', onclick: () => void join().catch(failed) }, 'Ask again'), ' ', h('a', { href: '/' }, 'Home')),
    );
  };

  /** Errors that end the meeting for this page get their own screen; others are shown where we are. */
  const failed = async (error: unknown) => {
    const errorCode = error instanceof MeetingError ? error.code : '';
    if (errorCode === 'REMOVED_FROM_ROOM') return removed();
    if (errorCode === 'ROOM_NOT_FOUND') {
      const now = await client.meetings.getRoom(code).catch(() => null);
      return finish(now?.status === 'ended' ? showEnded : showNotFound);
    }
    if (errorCode === 'NOT_A_PARTICIPANT') return showLeft('You were disconnected for too long.');
    document.querySelector('main')?.append(errorBox(error));
  };

  const join = async () => {
    let result;
    try {
      const language = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(navigator.language) ? navigator.language : undefined;
      result = await client.meetings.join(code, { hardware_ready: media.ready, language });
    } catch (error) {
      // Full room and the like stay on the screen the person is on; ended or removed move on.
      if (error instanceof MeetingError && ['REMOVED_FROM_ROOM', 'ROOM_NOT_FOUND'].includes(error.code)) return void (await failed(error));
      throw error;
    }
    state.room = result.room;
    await attach();
    // The join carried the devices' state; say it again now that the room hears this socket.
    await client.setHardwareReady(code, media.ready);
  };

  const prejoin = () => {
    phase = 'prejoin';
    stopScreenMeter?.();
    stopScreenMeter = showPrejoin(state.room, isHost, media, selfVideo, join);
  };

  /** Devices opened (at first, or another one was picked): show them, and tell the room if it is listening. */
  media.onChange(() => {
    selfVideo.srcObject = media.stream;
    if (phase === 'prejoin') prejoin();
    if (phase === 'waiting' || phase === 'room') act(() => client.setHardwareReady(code, media.ready));
    startLevels();
    draw();
  });

  listen();
  prejoin();
  // Join meeting works while the browser still asks for permission (or if nobody ever answers).
  void media.open();
}

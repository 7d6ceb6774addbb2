import { MeetingError, reportLevels, RoomSession, type MeetingClient, type RoomView } from '../client';
import { createLocalMedia, previewVideo, type LocalMedia } from './devices';
import { errorBox, h, showScreen } from './dom';
import { forgetInvitation, invitationFor, showInvitationInvalid } from './invitation-link';
import { copyInput, invitationsPanel } from './invitations';
import { levelMeter, showPrejoin } from './prejoin';
import { roomView } from './room-view';

/** A screen after which the meeting is over for this page: media and connection are closed. */
function showOutcome(name: string, title: string, text: string, action?: { label: string; run: () => void }): void {
  showScreen(
    name,
    h('h1', {}, title),
    h('p', { class: 'lead' }, text),
    h('p', {}, action ? h('button', { type: 'button', class: 'primary', onclick: action.run }, action.label) : null, ' ', h('a', { href: '/' }, 'Home')),
  );
}

const endsNotice = (endsAt: string) => `This meeting ends at ${new Date(endsAt).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' })}, as scheduled`;
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

/** One meeting on this page: the SDK's RoomSession keeps the room and runs the call; this draws it. */
function runMeeting(client: MeetingClient, room: RoomView, media: LocalMedia): void {
  const code = room.room_code;
  const me = client.session!.user;
  const isHost = room.host_id === me.id;
  const session = new RoomSession(client, code);
  let phase: 'prejoin' | 'invitation-invalid' | 'waiting' | 'room' | 'rejected' | 'superseded' | 'over' = 'prejoin';
  /** This page pressed Leave: its own participant:left may come before the answer. */
  let leaving = false;
  let stopLevels: (() => void) | undefined;
  /** Stops the meter of the prejoin or waiting screen. */
  let stopScreenMeter: (() => void) | undefined;
  /** The one preview of the local camera, moved between the prejoin, waiting and room screens. */
  const selfVideo = previewVideo();
  const view = roomView(
    me.id,
    isHost,
    selfVideo,
    {
      leave: () =>
        act(async () => {
          leaving = true;
          await client.meetings.leave(code);
          showLeft('The others can carry on.');
        }),
      admit: (userId) => act(async () => (await client.meetings.admit(code, userId), session.dropFromLobby([userId]))),
      reject: (userId) => act(async () => (await client.meetings.reject(code, userId), session.dropFromLobby([userId]))),
      admitAll: () => act(async () => session.dropFromLobby((await client.meetings.admitAll(code)).admitted)),
      rejectAll: () => act(async () => session.dropFromLobby((await client.meetings.rejectAll(code)).rejected)),
      remove: (userId) => act(() => client.meetings.remove(code, userId)),
      requestMute: (userId) => act(() => client.meetings.requestMute(code, userId)),
      setCoHost: (userId, coHost) => act(() => (coHost ? client.meetings.grantCoHost(code, userId) : client.meetings.revokeCoHost(code, userId))),
      setLocked: (locked) => act(async () => session.setSettings((await client.meetings.configure(code, { lock_room: locked })).settings)),
      end: () => act(async () => (await client.meetings.end(code), finish(showEnded))),
      setMicrophone: (on) => session.setMicrophone(on),
      setCamera: (on) => session.setCamera(on),
      copyLink: copyInput,
    },
    invitationsPanel(client, code),
  );

  const draw = () => {
    if (phase !== 'room') return;
    const snapshot = session.snapshot;
    room = { ...room, status: snapshot.roomStatus ?? room.status, settings: snapshot.settings ?? room.settings };
    view.update({ ...snapshot, room });
  };
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
    session.close();
    client.disconnect();
    media.stop();
    show();
  };
  const removed = () => finish(() => showOutcome('removed', 'You were removed from this meeting', 'The host removed you. You cannot join this meeting again.'));
  const showLeft = (text: string) => finish(() => showOutcome('left', 'You left the meeting', text, { label: 'Rejoin', run: () => location.reload() }));

  /** The level goes to the room for the active speaker: silence while the microphone is off. */
  const startLevels = () => {
    if (phase === 'room' && media.meter && !stopLevels)
      stopLevels = reportLevels(media.meter, (level) => client.sendLevel(code, session.snapshot.microphoneOn ? level : -127));
  };

  const enterRoom = () => {
    stopScreenMeter?.();
    phase = 'room';
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
      h('h1', {}, room.name),
      h('p', { class: 'lead' }, 'You are in the waiting room.'),
      h(
        'div',
        { class: 'prejoin' },
        h('div', { class: 'stage', 'data-camera': media.stream?.getVideoTracks().length ? 'on' : 'off' }, selfVideo),
        h(
          'div',
          { class: 'card' },
          h(
            'h2',
            { class: 'waiting' },
            reason === 'locked' ? 'Waiting for the host to let you in' : 'The meeting has not started yet: you will be let in when the host arrives.',
          ),
          h('p', { class: 'hint' }, 'Keep this page open. Meanwhile, check your microphone:'),
          meter.element,
          cancel,
        ),
      ),
    );
  };

  /** The same person opened the meeting in another tab or window: the call went there. */
  const showSuperseded = () => {
    phase = 'superseded';
    stopLevels?.();
    stopLevels = undefined;
    showScreen(
      'superseded',
      h('h1', {}, 'You joined from another tab'),
      h('p', { class: 'lead' }, 'Your camera and microphone are in the call there.'),
      h(
        'p',
        {},
        h('button', { type: 'button', class: 'primary', onclick: () => void attach().catch(failed) }, 'Use this tab instead'),
        ' ',
        h('a', { href: '/' }, 'Home'),
      ),
    );
  };

  /** Attaches (again) and shows whatever the room says this user is now. */
  const attach = async () => {
    const data = await session.attach();
    if (phase === 'over') return;
    if (data.status === 'joined') enterRoom();
    // The room:ending warning may have gone out before this socket was in the room.
    if (data.ends_at) notify(endsNotice(data.ends_at));
    else if (phase !== 'room') showWaiting(room.status === 'pending' ? 'host_not_started' : 'locked');
  };

  session.subscribe((snapshot) => {
    // Admitted from the lobby: the session attached again by itself.
    if (snapshot.status === 'joined' && phase === 'waiting') enterRoom();
    else draw();
  });
  session.onEvent((event) => {
    if (phase === 'over') return;
    switch (event.type) {
      case 'waiting':
        return void (phase === 'waiting' && showWaiting(event.reason));
      case 'rejected':
        return showRejected();
      case 'ended':
        return finish(showEnded);
      case 'superseded':
        return showSuperseded();
      case 'mute_requested':
        return notify('The host muted your microphone');
      case 'ending':
        return notify(endsNotice(event.endsAt));
      case 'failed':
        return void failed(event.error);
      case 'left':
        if (event.reason === 'removed') return removed();
        if (event.reason === 'disconnected') return showLeft('You were disconnected for too long.');
        return showLeft(leaving ? 'The others can carry on.' : 'You left from another tab or device.');
    }
  });

  /** The lobby said no: the person may ask again (a new knock) or go. */
  const showRejected = () => {
    phase = 'rejected';
    stopScreenMeter?.();
    showScreen(
      'rejected',
      h('h1', {}, 'The host did not let you in'),
      h('p', { class: 'lead' }, `You asked to join “${room.name}”.`),
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
      result = await client.meetings.join(code, { hardware_ready: media.ready, language, invitation_token: invitationFor(code) });
    } catch (error) {
      // A revoked, expired or someone else's invitation: say so, and let them knock like anyone.
      if (error instanceof MeetingError && error.code === 'INVITATION_INVALID') {
        forgetInvitation(code);
        phase = 'invitation-invalid';
        stopScreenMeter?.();
        return showInvitationInvalid(room, join);
      }
      // Full room and the like stay on the screen the person is on; ended or removed move on.
      if (error instanceof MeetingError && ['REMOVED_FROM_ROOM', 'ROOM_NOT_FOUND'].includes(error.code)) return void (await failed(error));
      throw error;
    }
    room = result.room;
    await attach();
    // The join carried the devices' state; say it again now that the room hears this socket.
    await client.setHardwareReady(code, media.ready);
  };

  const prejoin = () => {
    phase = 'prejoin';
    stopScreenMeter?.();
    stopScreenMeter = showPrejoin(room, { isHost, invited: invitationFor(code) !== undefined }, media, selfVideo, join);
  };

  /** Devices opened (at first, or another one was picked): show them, send them, and tell the room if it is listening. */
  media.onChange(() => {
    selfVideo.srcObject = media.stream;
    session.setLocalStream(media.stream);
    if (phase === 'prejoin') prejoin();
    if (phase === 'waiting' || phase === 'room') act(() => client.setHardwareReady(code, media.ready));
    startLevels();
    draw();
  });

  prejoin();
  // Join meeting works while the browser still asks for permission (or if nobody ever answers).
  void media.open();
}

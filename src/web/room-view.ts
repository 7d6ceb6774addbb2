import type { ParticipantView, RoomSnapshot, RoomView } from '../client';
import { h } from './dom';
import { initials } from './format';
import type { InvitationsPanel } from './invitations';

/** What the room screen shows: the session's snapshot and the room's details; `update` after each change. */
export type RoomState = RoomSnapshot & { room: RoomView };

/** What the buttons do. Each returns when the server answered; a failure is shown by the caller. */
export interface RoomActions {
  leave(): void;
  admit(userId: string): void;
  reject(userId: string): void;
  admitAll(): void;
  rejectAll(): void;
  remove(userId: string): void;
  requestMute(userId: string): void;
  setCoHost(userId: string, coHost: boolean): void;
  setLocked(locked: boolean): void;
  end(): void;
  setMicrophone(on: boolean): void;
  setCamera(on: boolean): void;
  copyLink(input: HTMLInputElement): void;
}

/** Whether the local preview shows a camera (it may have only a microphone, or nothing). */
const hasCamera = (video: HTMLVideoElement) => ((video.srcObject as MediaStream | null)?.getVideoTracks().length ?? 0) > 0;

/** A remote participant's camera and sound: one element per person, kept across redraws so playback never restarts. */
function remoteVideo(): HTMLVideoElement {
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.setAttribute('data-remote', '');
  return video;
}

/**
 * The room: a tile per participant (the active speaker's highlighted, one's own showing the
 * camera preview) and, for the host and co-hosts, the panel with the link, the invitations and
 * the lobby; the host's also has the meeting's controls. A co-host's panel shows while they are
 * one. The invitations are loaded when the panel opens and when someone new arrives (an invitee
 * accepting, maybe).
 */
export function roomView(selfId: string, isHost: boolean, selfVideo: HTMLVideoElement, actions: RoomActions, invitations: InvitationsPanel) {
  const tiles = h('div', { class: 'tiles' });
  const banner = h('p', { class: 'banner', hidden: true }, 'Connection lost: reconnecting…');
  const lobbyList = h('ul', { 'data-lobby': true, class: 'lobby' });
  const lobbyTitle = h('h2', {});
  const admitAll = h('button', { type: 'button', onclick: () => actions.admitAll() }, 'Admit all');
  const rejectAll = h('button', { type: 'button', onclick: () => actions.rejectAll() }, 'Reject all');
  const lock = h('button', { type: 'button' });
  const link = h('input', { type: 'text', readonly: true, 'aria-label': 'Meeting link', class: 'link-input' });
  const panel = h(
    'aside',
    { 'data-panel': isHost ? 'host' : 'co-host', class: 'card panel', hidden: !isHost },
    h('h2', {}, 'Invite'),
    link,
    h('button', { type: 'button', onclick: () => actions.copyLink(link) }, 'Copy link'),
    invitations.form,
    lobbyTitle,
    lobbyList,
    h('div', { class: 'row' }, admitAll, rejectAll),
    invitations.list,
    isHost ? h('h2', {}, 'Meeting') : null,
    isHost ? h('div', { class: 'row' }, lock, h('button', { type: 'button', class: 'danger', onclick: () => actions.end() }, 'End meeting')) : null,
  );
  const heading = h('h1', {});
  const microphone = h('button', { type: 'button', 'data-toggle': 'microphone' });
  const camera = h('button', { type: 'button', 'data-toggle': 'camera' });
  const callNote = h('p', { class: 'banner', 'data-call-full': true, hidden: true });
  const element = h(
    'div',
    { class: 'room' },
    h(
      'div',
      { class: 'row' },
      heading,
      h('div', { class: 'controls' }, microphone, camera, h('button', { type: 'button', class: 'danger', onclick: () => actions.leave() }, 'Leave')),
    ),
    banner,
    callNote,
    h('div', { class: 'room-body' }, tiles, panel),
  );
  const videos = new Map<string, HTMLVideoElement>();
  /** Who was in the room when the panel last showed: someone new refreshes the invitations. */
  let seen: Set<string> | null = null;

  /** The person's camera while the call with them carries one and they have it on; their initials otherwise (their sound plays either way). */
  const remoteMedia = (participant: ParticipantView, state: RoomState) => {
    const media = state.media.get(participant.user_id);
    const avatar = h('div', { class: 'avatar', 'aria-hidden': 'true' }, initials(participant.display_name));
    if (!media) return avatar;
    let video = videos.get(participant.user_id);
    if (!video) videos.set(participant.user_id, (video = remoteVideo()));
    if (video.srcObject !== media.stream) video.srcObject = media.stream;
    if (video.paused) void video.play().catch(() => undefined);
    video.setAttribute('data-call-state', media.state);
    // Sound only: the element still plays it, out of sight.
    video.hidden = media.stream.getVideoTracks().length === 0 || participant.media?.video === false;
    if (!video.hidden) return video;
    return h('div', { class: 'avatar', 'aria-hidden': 'true' }, initials(participant.display_name), video);
  };

  /** Which buttons a tile gets: the host removes anyone and appoints co-hosts; a co-host removes guests. */
  const tile = (participant: ParticipantView, state: RoomState, coHost: boolean) => {
    const speaking = participant.user_id === state.activeSpeaker;
    const self = participant.user_id === selfId;
    const removable = !self && (isHost || (coHost && participant.role === 'guest'));
    return h(
      'figure',
      {
        class: 'tile',
        'data-tile': true,
        'data-user-id': participant.user_id,
        'data-status': participant.status,
        'data-speaking': String(speaking),
        'data-self': self,
      },
      self
        ? hasCamera(selfVideo) && state.cameraOn
          ? selfVideo
          : h('div', { class: 'avatar', 'aria-hidden': 'true' }, initials(participant.display_name))
        : remoteMedia(participant, state),
      h(
        'figcaption',
        {},
        h('span', { class: 'name' }, participant.display_name, self ? ' (you)' : ''),
        participant.role === 'host' ? h('span', { class: 'badge' }, 'Host') : null,
        participant.role === 'co_host' ? h('span', { class: 'badge' }, 'Co-host') : null,
        speaking ? h('span', { class: 'badge speaking' }, 'Speaking') : null,
        // What their page says (media:state): a muted track cannot be told from silence at this end.
        participant.media?.audio === false ? h('span', { class: 'badge muted', 'data-muted': true }, 'Muted') : null,
        participant.media?.video === false ? h('span', { class: 'badge muted', 'data-camera-off': true }, 'Camera off') : null,
        participant.status === 'disconnected' ? h('span', { class: 'badge warn' }, 'Reconnecting…') : null,
        participant.hardware_ready ? null : h('span', { class: 'badge muted', title: 'Camera or microphone not ready' }, 'No devices'),
        isHost && !self
          ? h(
              'button',
              { type: 'button', class: 'link', onclick: () => actions.setCoHost(participant.user_id, participant.role !== 'co_host') },
              participant.role === 'co_host' ? 'Remove co-host' : 'Make co-host',
            )
          : null,
        isHost && !self && participant.media?.audio !== false
          ? h('button', { type: 'button', class: 'link', onclick: () => actions.requestMute(participant.user_id) }, 'Ask to mute')
          : null,
        removable ? h('button', { type: 'button', class: 'link', onclick: () => actions.remove(participant.user_id) }, 'Remove') : null,
      ),
    );
  };

  const update = (state: RoomState) => {
    heading.textContent = state.room.name;
    banner.hidden = state.connection === 'connected';
    // The host first, then in order of arrival.
    const people = [...state.participants.values()].sort((a, b) => (a.role === 'host' ? -1 : b.role === 'host' ? 1 : a.joined_at.localeCompare(b.joined_at)));
    const coHost = state.participants.get(selfId)?.role === 'co_host';
    tiles.replaceChildren(...people.map((participant) => tile(participant, state, coHost)));
    for (const [userId, video] of videos) {
      if (state.media.has(userId)) continue;
      video.srcObject = null;
      videos.delete(userId);
    }
    microphone.textContent = state.microphoneOn ? 'Mute' : 'Unmute';
    microphone.setAttribute('aria-pressed', String(!state.microphoneOn));
    microphone.onclick = () => actions.setMicrophone(!state.microphoneOn);
    microphone.disabled = !state.hasMicrophone;
    camera.textContent = state.cameraOn ? 'Stop camera' : 'Start camera';
    camera.setAttribute('aria-pressed', String(!state.cameraOn));
    camera.onclick = () => actions.setCamera(!state.cameraOn);
    camera.disabled = !state.hasCamera;
    callNote.hidden = !state.callFull;
    callNote.textContent = state.inCall
      ? `${state.participants.size} people are here; a call takes ${state.maxCallSize}. You see and hear the first ${state.maxCallSize} who joined; the others see only names.`
      : `This call is full: it takes ${state.maxCallSize} people and ${state.participants.size} are here. You are in the room, but you cannot see or hear the others, nor they you.`;
    panel.hidden = !isHost && !coHost;
    if (panel.hidden) return void (seen = null);
    const present = new Set(state.participants.keys());
    if (!seen || [...present].some((userId) => !seen!.has(userId))) void invitations.refresh();
    seen = present;
    link.value = state.room.join_url;
    lock.textContent = state.room.settings.lock_room ? 'Unlock room' : 'Lock room';
    lock.onclick = () => actions.setLocked(!state.room.settings.lock_room);
    lobbyTitle.textContent = `Waiting (${state.lobby.size})`;
    admitAll.disabled = rejectAll.disabled = state.lobby.size === 0;
    lobbyList.replaceChildren(
      ...(state.lobby.size === 0
        ? [
            h(
              'li',
              { class: 'empty' },
              state.room.settings.lock_room ? 'Nobody is waiting.' : 'Nobody is waiting. The room is open: people with the link come straight in.',
            ),
          ]
        : [...state.lobby.values()].map((entry) =>
            h(
              'li',
              { 'data-lobby-entry': true, 'data-user-id': entry.user_id },
              h('span', { class: 'name' }, entry.display_name),
              h('button', { type: 'button', class: 'primary', onclick: () => actions.admit(entry.user_id) }, 'Admit'),
              h('button', { type: 'button', onclick: () => actions.reject(entry.user_id) }, 'Reject'),
            ),
          )),
    );
  };

  return { element, update };
}

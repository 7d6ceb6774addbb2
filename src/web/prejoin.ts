import type { RoomView } from '../client';
import { errorBox, h, showScreen } from './dom';
import type { LocalMedia } from './devices';

/** The meter's scale: -60 dBFS and below shows empty, 0 dBFS full. */
const meterFloorDb = -60;

/** A live microphone meter (`data-level` is the level in dBFS); call `stop` when it leaves the page. */
export function levelMeter(media: LocalMedia): { element: HTMLElement; stop(): void } {
  const fill = h('span', { class: 'fill' });
  const readout = h('span', { class: 'readout' });
  const element = h(
    'div',
    { class: 'meter', 'data-meter': true, role: 'meter', 'aria-label': 'Microphone level', 'aria-valuemin': meterFloorDb, 'aria-valuemax': 0 },
    h('span', { class: 'track' }, fill),
    readout,
  );
  const draw = () => {
    const level = Math.round(media.level());
    const shown = Math.max(meterFloorDb, level);
    element.setAttribute('data-level', String(level));
    element.setAttribute('aria-valuenow', String(shown));
    fill.style.width = `${((shown - meterFloorDb) / -meterFloorDb) * 100}%`;
    readout.textContent = media.meter ? `${level} dB` : 'no microphone';
  };
  draw();
  const timer = setInterval(draw, 100);
  return { element, stop: () => clearInterval(timer) };
}

function deviceSelect(name: string, label: string, devices: MediaDeviceInfo[], current: string | undefined, onChange: (id: string) => void): HTMLElement {
  const select = h(
    'select',
    { name, disabled: devices.length === 0 },
    ...(devices.length === 0
      ? [h('option', { value: '' }, `No ${label.toLowerCase()} available`)]
      : devices.map((device, index) =>
          h('option', { value: device.deviceId, selected: device.deviceId === current }, device.label || `${label} ${index + 1}`),
        )),
  );
  select.addEventListener('change', () => onChange(select.value));
  return h('label', { class: 'field' }, label, select);
}

/**
 * Before joining: the camera preview, a live microphone meter and device pickers, so people
 * fix their set-up before others see them. Shown again whenever the devices change (the caller
 * listens to `media`). *Join meeting* is there from the start, devices or not. Returns the
 * function that stops this screen's meter.
 */
export function showPrejoin(
  room: RoomView,
  who: { isHost: boolean; invited: boolean },
  media: LocalMedia,
  selfVideo: HTMLVideoElement,
  onJoin: () => Promise<void>,
): () => void {
  const meter = levelMeter(media);
  const tracks = media.stream;
  const cameraId = tracks?.getVideoTracks()[0]?.getSettings().deviceId;
  const microphoneId = tracks?.getAudioTracks()[0]?.getSettings().deviceId;
  const reopen = (choice: { cameraId?: string; microphoneId?: string }) => void media.open({ cameraId, microphoneId, ...choice });
  const join = h('button', { type: 'button', class: 'primary' }, 'Join meeting');
  const lead = who.isHost
    ? 'You are the host: joining starts the meeting.'
    : room.status === 'active'
      ? `The meeting is on.${who.invited ? ' With your invitation you go straight in.' : ''}`
      : `The host has not started the meeting yet.${who.invited ? ' With your invitation you come in as soon as they do.' : ''}`;
  const screen = showScreen(
    'prejoin',
    h('h1', {}, room.name),
    h('p', { class: 'lead' }, lead),
    h(
      'div',
      { class: 'prejoin' },
      h('div', { class: 'stage', 'data-camera': media.stream?.getVideoTracks().length ? 'on' : 'off' }, selfVideo),
      h(
        'div',
        { class: 'card' },
        h('p', { 'data-media-status': true, class: media.ready ? 'ok' : 'warn' }, media.status),
        h('div', { class: 'field' }, 'Level', meter.element),
        deviceSelect('camera', 'Camera', media.cameras, cameraId, (id) => reopen({ cameraId: id })),
        deviceSelect('microphone', 'Microphone', media.microphones, microphoneId, (id) => reopen({ microphoneId: id })),
        join,
      ),
    ),
  );
  // Browsers start audio only after a gesture: any click on this screen will do.
  screen.addEventListener('click', () => void media.meter?.resume());
  join.addEventListener('click', async () => {
    join.disabled = true;
    screen.querySelector('[role=alert]')?.remove();
    try {
      await media.meter?.resume();
      await onJoin();
    } catch (error) {
      screen.append(errorBox(error));
    } finally {
      join.disabled = false;
    }
  });
  return meter.stop;
}

import type { RoomView } from '../client';
import { errorBox, h, showScreen } from './dom';
import { previewVideo, type LocalMedia } from './devices';

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
    ...devices.map((device, index) => h('option', { value: device.deviceId, selected: device.deviceId === current }, device.label || `${label} ${index + 1}`)),
  );
  select.addEventListener('change', () => onChange(select.value));
  return h('label', { class: 'field' }, label, select);
}

/**
 * Before joining: the camera preview, a live microphone meter and device pickers, so people
 * fix their set-up before others see them. `onJoin` runs when they are ready (or decide to
 * join without devices).
 */
export function showPrejoin(room: RoomView, media: LocalMedia, onJoin: (leaving: () => void) => Promise<void>): void {
  let meter: { element: HTMLElement; stop(): void } | undefined;
  const render = () => {
    meter?.stop();
    meter = levelMeter(media);
    const tracks = media.stream;
    const cameraId = tracks?.getVideoTracks()[0]?.getSettings().deviceId;
    const microphoneId = tracks?.getAudioTracks()[0]?.getSettings().deviceId;
    const reopen = async (choice: { cameraId?: string; microphoneId?: string }) => {
      await media.open({ cameraId, microphoneId, ...choice });
      render();
    };
    const join = h('button', { type: 'button', class: 'primary' }, 'Join meeting');
    const screen = showScreen(
      'prejoin',
      h('h1', {}, room.name),
      h('p', { class: 'lead' }, room.status === 'active' ? 'The meeting is on.' : 'The host has not started the meeting yet.'),
      h(
        'div',
        { class: 'prejoin' },
        h('div', { class: 'stage' }, previewVideo(tracks)),
        h(
          'div',
          { class: 'card' },
          h('p', { 'data-media-status': true, class: media.ready ? 'ok' : 'warn' }, media.status),
          h('div', { class: 'field' }, 'Microphone', meter.element),
          deviceSelect('camera', 'Camera', media.cameras, cameraId, (id) => void reopen({ cameraId: id })),
          deviceSelect('microphone', 'Microphone', media.microphones, microphoneId, (id) => void reopen({ microphoneId: id })),
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
        await onJoin(() => meter?.stop());
      } catch (error) {
        screen.append(errorBox(error));
      } finally {
        join.disabled = false;
      }
    });
  };
  render();
}

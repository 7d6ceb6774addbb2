import { createLevelMeter, silenceDb, type LevelMeter } from '../client';

/** The camera and microphone of this browser: a local preview and a level meter, nothing sent. */
export interface LocalMedia {
  readonly stream: MediaStream | null;
  readonly meter: LevelMeter | null;
  /** Both a camera and a microphone are live. */
  readonly ready: boolean;
  /** What to tell the person: "Camera and microphone ready", or what is wrong and what to do. */
  readonly status: string;
  readonly cameras: MediaDeviceInfo[];
  readonly microphones: MediaDeviceInfo[];
  /** Opens the chosen devices (or the defaults), replacing whatever was open; then tells `onChange` listeners. */
  open(choice?: { cameraId?: string; microphoneId?: string }): Promise<void>;
  /** Called after every `open`, whatever came of it. */
  onChange(listener: () => void): void;
  /** The current level in dBFS (-127 when there is no microphone). */
  level(): number;
  stop(): void;
}

const readyText = 'Camera and microphone ready';

/** Why getUserMedia failed, said so a person can fix it. */
function explain(error: unknown): string {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError')
    return 'Camera and microphone are blocked. Allow them for this site in your browser (the icon in the address bar), then reload. You can join without them.';
  if (name === 'NotReadableError') return 'Your camera or microphone is in use by another application. Close it and reload, or join without them.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No camera or microphone was found. You can join without them.';
  return `Could not open your camera and microphone (${name || String(error)}). You can join without them.`;
}

async function tryOpen(constraints: MediaStreamConstraints): Promise<MediaStream | DOMException> {
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    return error instanceof DOMException ? error : new DOMException(String(error), 'UnknownError');
  }
}

export function createLocalMedia(): LocalMedia {
  let stream: MediaStream | null = null;
  let meter: LevelMeter | null = null;
  let status = 'Asking for your camera and microphone…';
  let cameras: MediaDeviceInfo[] = [];
  let microphones: MediaDeviceInfo[] = [];
  const listeners: (() => void)[] = [];

  const stop = () => {
    meter?.stop();
    stream?.getTracks().forEach((track) => track.stop());
    meter = null;
    stream = null;
  };

  const acquire = async (choice: { cameraId?: string; microphoneId?: string }) => {
    stop();
    if (!navigator.mediaDevices?.getUserMedia) {
      status = 'Camera and microphone need a secure connection (https or localhost). You can join without them.';
      return;
    }
    const audio: MediaTrackConstraints | boolean = choice.microphoneId ? { deviceId: { exact: choice.microphoneId } } : true;
    const video: MediaTrackConstraints | boolean = choice.cameraId ? { deviceId: { exact: choice.cameraId } } : true;
    let result = await tryOpen({ audio, video });
    // One device missing should not cost the other: try each alone.
    if (result instanceof DOMException && (result.name === 'NotFoundError' || result.name === 'OverconstrainedError')) {
      const audioOnly = await tryOpen({ audio });
      const videoOnly = audioOnly instanceof DOMException ? await tryOpen({ video }) : null;
      if (!(audioOnly instanceof DOMException)) {
        result = audioOnly;
        status = 'No camera was found: the others will not see you. Your microphone works.';
      } else if (videoOnly && !(videoOnly instanceof DOMException)) {
        result = videoOnly;
        status = 'No microphone was found: the others will not hear you. Your camera works.';
      }
    }
    if (result instanceof DOMException) {
      status = explain(result);
    } else {
      stream = result;
      const hasAudio = stream.getAudioTracks().length > 0;
      if (hasAudio) meter = createLevelMeter(stream);
      if (hasAudio && stream.getVideoTracks().length > 0) status = readyText;
    }
    // Labels are only known once a device was granted.
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    cameras = devices.filter((device) => device.kind === 'videoinput' && device.deviceId);
    microphones = devices.filter((device) => device.kind === 'audioinput' && device.deviceId);
  };
  const open = async (choice: { cameraId?: string; microphoneId?: string } = {}) => {
    await acquire(choice);
    listeners.forEach((listener) => listener());
  };

  return {
    get stream() {
      return stream;
    },
    get meter() {
      return meter;
    },
    get ready() {
      return status === readyText;
    },
    get status() {
      return status;
    },
    get cameras() {
      return cameras;
    },
    get microphones() {
      return microphones;
    },
    open,
    onChange: (listener) => void listeners.push(listener),
    level: () => meter?.read() ?? silenceDb,
    stop,
  };
}

/** A muted preview of the local camera (mirrored by the stylesheet); set `srcObject` once devices are open. */
export function previewVideo(): HTMLVideoElement {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.setAttribute('data-preview', '');
  return video;
}

import { dbfs, levelIntervalMs } from './dbfs';

/** A microphone's level, read whenever asked. */
export interface LevelMeter {
  /** The level of the last ~43 ms of audio, in dBFS (-127…0). */
  read(): number;
  /** Starts the audio graph after a user gesture (browsers create it suspended otherwise). */
  resume(): Promise<void>;
  stop(): void;
}

/** Measures a MediaStream's audio with WebAudio (an AnalyserNode; nothing is played back). */
export function createLevelMeter(stream: MediaStream): LevelMeter {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  return {
    read() {
      analyser.getFloatTimeDomainData(samples);
      return dbfs(samples);
    },
    resume: () => (context.state === 'suspended' ? context.resume() : Promise.resolve()),
    stop() {
      source.disconnect();
      void context.close();
    },
  };
}

/**
 * Sends `meter`'s level to a room every `everyMs` until the returned function is called.
 * `send` is usually `(level) => client.sendLevel(roomCode, level)`.
 */
export function reportLevels(meter: LevelMeter, send: (level: number) => void, everyMs = levelIntervalMs): () => void {
  const timer = setInterval(() => send(meter.read()), everyMs);
  return () => clearInterval(timer);
}

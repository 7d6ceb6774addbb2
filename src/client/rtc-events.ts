/**
 * The WebRTC signaling events of issue #25 as the client uses them, until src/contract/events.ts
 * has them: a signal carries exactly one of `description` and `candidate` (null: no more candidates).
 */
export interface RtcSignal {
  description?: { type: 'offer' | 'answer'; sdp: string };
  candidate?: IceCandidate | null;
}

/** RTCIceCandidateInit and RTCIceServer, spelled out for Node.js code with no DOM types. */
export interface IceCandidate {
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface RtcClientToServerEvents {
  /** Acked `delivered: false` when the target has no socket in the room. */
  'rtc:signal': (payload: RtcSignal & { room_code: string; to: string }, ack: (reply: unknown) => void) => void;
  'rtc:ice_servers': (payload: { room_code: string }, ack: (reply: unknown) => void) => void;
}

export interface RtcServerToClientEvents {
  /** `from` is the sender's user id, set by the server. */
  'rtc:signal': (payload: RtcSignal & { room_code: string; from: string }) => void;
  /** A newer socket of this user attached to the room: it carries the user's media now. */
  'rtc:superseded': (payload: { room_code: string }) => void;
}

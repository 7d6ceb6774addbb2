import pino, { type Logger } from 'pino';
import type { Config } from '../config/config';

/** The process logger: JSON lines on stdout; secret-looking fields are redacted as a second line of defence. */
export function createLogger(config: Pick<Config, 'logLevel' | 'nodeId'>): Logger {
  return pino({
    level: config.logLevel,
    base: { node: config.nodeId },
    redact: {
      paths: ['password', '*.password', 'access_token', '*.access_token', 'authorization', '*.authorization'],
      censor: '[redacted]',
    },
  });
}

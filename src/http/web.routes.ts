import path from 'node:path';
import express, { Router, type RequestHandler } from 'express';
import helmet from 'helmet';
import { AppError } from '../errors/app-error';

/** Where `npm run build` puts the page (scripts/build-web.ts), whether this file runs from src/ or dist/src/. */
const projectDir = path.resolve(__dirname, '..', '..');
export const defaultWebRoot = path.basename(projectDir) === 'dist' ? path.join(projectDir, 'web') : path.join(projectDir, 'dist', 'web');

/**
 * The page's policy: its own script and stylesheet only (no inline code, no other origin), API
 * and Socket.IO calls to this origin ('self' covers ws: and wss: here), the camera preview as a
 * MediaStream, no frames, no plugins, no <base>.
 */
const pagePolicy = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    scriptSrcAttr: ["'none'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    mediaSrc: ["'self'", 'blob:', 'mediastream:'],
    connectSrc: ["'self'"],
    manifestSrc: ["'self'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
  },
});

/**
 * The meeting page: `GET /` (sign in, create a room, history) and `GET /join/{room_code}` (the
 * share link) answer the same single page, which reads its path; `/assets/*` are its hashed,
 * immutable files. A malformed code still gets the page, which says there is no such meeting.
 */
export function webRoutes(webRoot: string): Router {
  const router = Router();
  const indexFile = path.join(webRoot, 'index.html');
  router.use('/assets', express.static(path.join(webRoot, 'assets'), { immutable: true, maxAge: '365d', index: false, redirect: false, fallthrough: true }));
  const page: RequestHandler = (_req, res, next) => {
    // Revalidated on every visit, so a deploy reaches every browser at once; its assets are cached.
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(indexFile, (error) => {
      if (error) next(new AppError('NOT_FOUND', 'The web page is not built: run `npm run build`'));
    });
  };
  router.get('/', pagePolicy, page);
  router.get('/join/:room_code', pagePolicy, page);
  return router;
}

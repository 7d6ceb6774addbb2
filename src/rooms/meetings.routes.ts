import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { emptyBody, historyQuery, joinBody, roomCodePattern, type MeetingLimits, meetingBodies, upcomingQuery } from '../contract/schemas';
import { AppError } from '../errors/app-error';
import { parse } from '../errors/validate';
import type { MeetingsService } from './meetings.service';

const userIdParam = z.strictObject({ user_id: z.uuid('must be a user id (UUID)') });

/** `/api/v1/meetings`: validate, call the service, answer. Every route needs a bearer token. */
export function meetingsRoutes(deps: { meetings: MeetingsService; authenticate: RequestHandler; limits: MeetingLimits }): Router {
  const { meetings } = deps;
  const { createRoomBody, configBody } = meetingBodies(deps.limits);
  const router = Router();
  router.use(deps.authenticate);

  router.post('/', async (req, res) => {
    res.status(201).json(await meetings.create(req.user!, parse(createRoomBody, req.body)));
  });
  // Declared before /:room_code, which would otherwise take "history" or "upcoming" for a room code.
  router.get('/history', async (req, res) => {
    res.json(await meetings.history(req.user!, parse(historyQuery, req.query)));
  });
  router.get('/upcoming', async (req, res) => {
    res.json(await meetings.upcoming(req.user!, parse(upcomingQuery, req.query)));
  });

  // A code that cannot exist is answered without touching the database.
  router.param('room_code', (_req, _res, next, code: string) => next(roomCodePattern.test(code) ? undefined : new AppError('ROOM_NOT_FOUND')));
  // Checked by the param handler above: a 12-character base64url code.
  const code = (req: Request) => String(req.params.room_code);
  const userId = (params: Request['params']) => parse(userIdParam, { user_id: params.user_id }).user_id;
  const noBody: RequestHandler = (req, _res, next) => {
    parse(emptyBody, req.body);
    next();
  };

  router.get('/:room_code', async (req, res) => {
    res.json(await meetings.details(req.user!, code(req)));
  });
  router.get('/:room_code/participants', async (req, res) => {
    res.json(await meetings.participants(req.user!, code(req)));
  });
  router.post('/:room_code/join', async (req, res) => {
    res.json(await meetings.join(req.user!, code(req), parse(joinBody, req.body ?? {})));
  });
  router.post('/:room_code/admit/:user_id', noBody, async (req, res) => {
    res.json(await meetings.admit(req.user!, code(req), userId(req.params)));
  });
  router.post('/:room_code/admit-all', noBody, async (req, res) => {
    res.json(await meetings.admitAll(req.user!, code(req)));
  });
  router.post('/:room_code/co-hosts/:user_id', noBody, async (req, res) => {
    res.json(await meetings.setCoHost(req.user!, code(req), userId(req.params), true));
  });
  router.delete('/:room_code/co-hosts/:user_id', noBody, async (req, res) => {
    res.json(await meetings.setCoHost(req.user!, code(req), userId(req.params), false));
  });
  router.post('/:room_code/reject-all', noBody, async (req, res) => {
    res.json(await meetings.rejectAll(req.user!, code(req)));
  });
  router.post('/:room_code/mute/:user_id', noBody, async (req, res) => {
    res.json(await meetings.requestMute(req.user!, code(req), userId(req.params)));
  });
  router.post('/:room_code/mute-all', noBody, async (req, res) => {
    res.json(await meetings.requestMute(req.user!, code(req), null));
  });
  router.post('/:room_code/reject/:user_id', noBody, async (req, res) => {
    res.json(await meetings.reject(req.user!, code(req), userId(req.params)));
  });
  router.post('/:room_code/remove/:user_id', noBody, async (req, res) => {
    res.json(await meetings.remove(req.user!, code(req), userId(req.params)));
  });
  router.post('/:room_code/leave', noBody, async (req, res) => {
    res.json(await meetings.leave(req.user!, code(req)));
  });
  router.post('/:room_code/end', noBody, async (req, res) => {
    res.json(await meetings.end(req.user!, code(req)));
  });
  router.patch('/:room_code/config', async (req, res) => {
    res.json(await meetings.configure(req.user!, code(req), parse(configBody, req.body)));
  });
  return router;
}

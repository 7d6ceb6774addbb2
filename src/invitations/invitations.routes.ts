import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { emptyBody, roomCodePattern } from '../contract/schemas';
import { invitationsBody } from '../contract/invitations';
import { AppError } from '../errors/app-error';
import { parse } from '../errors/validate';
import type { InvitationsService } from './invitations.service';

const invitationIdParam = z.strictObject({ invitation_id: z.uuid('must be an invitation id (UUID)') });

/** `/api/v1/meetings/{room_code}/invitations`: validate, call the service, answer. Every route needs a bearer token. */
export function invitationsRoutes(deps: { invitations: InvitationsService; authenticate: RequestHandler }): Router {
  const { invitations } = deps;
  // The room code is in the mount path.
  const router = Router({ mergeParams: true });
  router.use(deps.authenticate);
  router.use((req, _res, next) => next(roomCodePattern.test(code(req)) ? undefined : new AppError('ROOM_NOT_FOUND')));

  router.post('/', async (req, res) => {
    res.status(201).json(await invitations.invite(req.user!, code(req), parse(invitationsBody, req.body)));
  });
  router.get('/', async (req, res) => {
    res.json(await invitations.list(req.user!, code(req)));
  });
  router.delete('/:invitation_id', async (req, res) => {
    parse(emptyBody, req.body);
    const { invitation_id } = parse(invitationIdParam, { invitation_id: req.params.invitation_id });
    res.json(await invitations.revoke(req.user!, code(req), invitation_id));
  });
  return router;
}

const code = (req: Request) => String((req.params as { room_code?: string }).room_code);

import { Router, type RequestHandler } from 'express';
import { guestBody, loginBody, registerBody } from '../contract/schemas';
import { parse } from '../errors/validate';
import type { AuthService } from './auth.service';

/** `/api/v1/auth`: thin handlers that validate, call the service and shape the status. */
export function authRoutes(deps: { auth: AuthService; authenticate: RequestHandler; loginThrottle: RequestHandler }): Router {
  const { auth, authenticate, loginThrottle } = deps;
  const router = Router();
  router.post('/register', async (req, res) => {
    res.status(201).json(await auth.register(parse(registerBody, req.body)));
  });
  router.post('/login', loginThrottle, async (req, res) => {
    res.status(200).json(await auth.login(parse(loginBody, req.body)));
  });
  router.post('/guest', async (req, res) => {
    res.status(201).json(await auth.guest(parse(guestBody, req.body)));
  });
  router.get('/me', authenticate, async (req, res) => {
    res.status(200).json(await auth.me(req.user!));
  });
  return router;
}

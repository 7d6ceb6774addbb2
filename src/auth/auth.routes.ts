import { Router, type RequestHandler } from 'express';
import { guestBody, loginBody, registerBody } from '../contract/schemas';
import { parse } from '../errors/validate';
import type { AuthService } from './auth.service';
import { LoginThrottled, type LoginThrottle } from './login-throttle';

/** `/api/v1/auth`: thin handlers that validate, call the service and shape the status. */
export function authRoutes(deps: { auth: AuthService; authenticate: RequestHandler; loginThrottle: LoginThrottle }): Router {
  const { auth, authenticate, loginThrottle } = deps;
  const router = Router();
  router.post('/register', async (req, res) => {
    res.status(201).json(await auth.register(parse(registerBody, req.body)));
  });
  router.post('/login', async (req, res) => {
    const body = parse(loginBody, req.body);
    try {
      res.status(200).json(await loginThrottle.attempt({ email: body.email, address: req.ip ?? '' }, () => auth.login(body)));
    } catch (error) {
      if (error instanceof LoginThrottled) res.setHeader('Retry-After', String(error.retryAfterS));
      throw error;
    }
  });
  router.post('/guest', async (req, res) => {
    res.status(201).json(await auth.guest(parse(guestBody, req.body)));
  });
  router.get('/me', authenticate, async (req, res) => {
    res.status(200).json(await auth.me(req.user!));
  });
  return router;
}

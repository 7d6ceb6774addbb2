import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { errorCatalog, problemType, type Problem } from '../contract/errors';
import { AppError } from '../errors/app-error';
import { toAppError } from '../errors/to-app-error';
import { requestFields } from './access-log';

/** Unknown routes: 404 NOT_FOUND as problem+json. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError('NOT_FOUND', `No route for ${req.method} ${req.path}`));
};

/**
 * The one Express error handler: every error leaves as `application/problem+json`, never with a
 * stack; an unexpected one is logged, with the request it failed.
 */
export const problemHandler =
  (logger: Logger): ErrorRequestHandler =>
  (error, req, res, _next) => {
    const { appError, expected } = toAppError(error);
    if (!expected) logger.error({ err: error, req: requestFields(req) }, 'request failed');
    const problem: Problem = {
      type: problemType(appError.code),
      title: errorCatalog[appError.code].title,
      status: appError.status,
      detail: appError.message,
      code: appError.code,
      ...(appError.errors ? { errors: appError.errors } : {}),
    };
    if (res.headersSent) return res.end();
    res.status(problem.status).type('application/problem+json').json(problem);
  };

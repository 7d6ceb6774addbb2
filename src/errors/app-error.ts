import { errorCatalog, type ErrorCode, type FieldError } from '../contract/errors';

/**
 * An operational error with a stable code from the catalog. Everything the product rejects on
 * purpose is an AppError; anything else reaching a transport boundary is a bug and answers INTERNAL.
 */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly errors?: FieldError[],
  ) {
    super(detail ?? errorCatalog[code].title);
    this.name = 'AppError';
    this.status = errorCatalog[code].status;
  }
}


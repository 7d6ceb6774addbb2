import { errorCatalog, type ErrorCode, type FieldError } from '../contract/errors';

/**
 * An operational error with a stable code from the catalog. Everything the product rejects on
 * purpose is an AppError; anything else reaching a transport boundary is a bug and answers INTERNAL.
 */
export class AppError extends Error {
  status: number;

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly errors?: FieldError[],
  ) {
    super(detail ?? errorCatalog[code].title);
    this.name = 'AppError';
    this.status = errorCatalog[code].status;
  }

  /** The same error with another HTTP status, where the contract gives one code two statuses. */
  withStatus(status: number): AppError {
    const copy = new AppError(this.code, this.message, this.errors);
    copy.status = status;
    return copy;
  }
}

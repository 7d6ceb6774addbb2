import { toAppError } from '../../src/errors/to-app-error';

/** Which failures a client may retry (503) and which are bugs (500). */
describe('toAppError', () => {
  const withCode = (code: string, message = 'x', name = 'DriverException') => Object.assign(new Error(message), { name, code });

  it.each([
    ['a connection exception (class 08)', withCode('08006')],
    ['too many connections', withCode('53300')],
    ['an administrator shutdown', withCode('57P01')],
    ['a database refusing connections', withCode('55000', 'database "x" is not currently accepting connections')],
    ['a refused TCP connection', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432', 'Error')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['a pool timeout', Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' })],
  ])('%s is 503 UNAVAILABLE', (_label, error) => {
    expect(toAppError(error).appError.code).toBe('UNAVAILABLE');
  });

  it.each([
    ['another 55000', withCode('55000', 'lock not available')],
    ['a syntax error', withCode('42601')],
    ['a plain bug', new TypeError('x is not a function')],
  ])('%s is 500 INTERNAL', (_label, error) => {
    expect(toAppError(error).appError.code).toBe('INTERNAL');
  });
});

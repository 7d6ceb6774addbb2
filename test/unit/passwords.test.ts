import { hashPassword, verifyAgainstDecoy, verifyPassword } from '../../src/auth/passwords';

describe('password hashing', () => {
  it('verifies the right password and rejects a wrong one', async () => {
    const hash = await hashPassword('correct horse battery');
    expect(hash).toMatch(/^scrypt\$32768\$8\$3\$[\w-]{22}\$[\w-]{43}$/);
    await expect(verifyPassword('correct horse battery', hash)).resolves.toBe(true);
    await expect(verifyPassword('correct horse batterY', hash)).resolves.toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same password')).not.toBe(await hashPassword('same password'));
  });

  it('treats a malformed stored hash as a mismatch', async () => {
    await expect(verifyPassword('x', 'plaintext')).resolves.toBe(false);
    await expect(verifyPassword('x', 'scrypt$1$2$3$abc$short')).resolves.toBe(false);
    await expect(verifyPassword('x', 'bcrypt$2b$10$whatever')).resolves.toBe(false);
  });

  it('normalises Unicode so the same visible password always matches', async () => {
    const hash = await hashPassword('caf\u00e9-password');
    await expect(verifyPassword('cafe\u0301-password', hash)).resolves.toBe(true);
  });

  it('the decoy check never succeeds', async () => {
    await expect(verifyAgainstDecoy('anything at all')).resolves.toBe(false);
  });
});

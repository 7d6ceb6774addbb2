import { createTokenService } from '../src/auth/tokens';
import { createAuthenticate } from '../src/auth/authenticate';
const tokens = createTokenService({ secret: 'x'.repeat(40), accessTtlS: 3600, guestTtlS: 3600 });
const { token } = tokens.issue({ id: '3f0c2a52-8f4e-4b55-9d55-1b2a3c4d5e6f', isGuest: false });
const auth = createAuthenticate(tokens);
const req: any = { headers: { authorization: `Bearer ${token}` } };
const N = 50000;
for (let round = 0; round < 3; round++) {
  let t = performance.now();
  for (let i = 0; i < N; i++) auth(req, {} as any, () => {});
  const a = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) tokens.verify(token);
  const b = (performance.now() - t) / N * 1000;
  console.log(`passport authenticate ${a.toFixed(1)} us, tokens.verify ${b.toFixed(1)} us`);
}

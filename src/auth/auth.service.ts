import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import type { GuestBody, LoginBody, RegisterBody, SessionView, UserView } from '../contract/schemas';
import { AppError } from '../errors/app-error';
import { accountGone, type Accounts } from './accounts';
import { hashPassword, verifyAgainstDecoy, verifyPassword } from './passwords';
import type { Principal, TokenService } from './tokens';
import { User } from './user.entity';

/** Accounts and sessions: register, log in, guest sessions, and who-am-I. */
export interface AuthService {
  register(body: RegisterBody): Promise<SessionView>;
  login(body: LoginBody): Promise<SessionView>;
  guest(body: GuestBody): Promise<SessionView>;
  me(principal: Principal): Promise<UserView>;
}

/**
 * `em` is the ORM's global entity manager; each call works in a fork of its own, so calls never
 * share an identity map. (Only these routes and history use the ORM: forking for every request
 * cost 6% of a REST create + join pair's CPU, docs/performance.md.)
 */
export function createAuthService(deps: { em: EntityManager; tokens: TokenService; accounts: Accounts }): AuthService {
  const { tokens } = deps;
  const fork = () => deps.em.fork();
  /**
   * A plain insert, not `persist` + `flush`: the ORM's flush runs in an AsyncLocalStorage, and
   * the first one in a process turns on Node's promise hooks for good, which then tax every
   * promise and callback of the node (docs/performance.md, row (b1)).
   */
  const insertUser = (user: User) => fork().insert(user);

  const session = (user: User): SessionView => {
    deps.accounts.remember(user.id, { displayName: user.displayName, isGuest: user.isGuest });
    const { token, expiresIn } = tokens.issue(user);
    return { access_token: token, token_type: 'bearer', expires_in: expiresIn, user: toUserView(user) };
  };

  return {
    async register({ email, password, display_name }) {
      const user = new User({ email, displayName: display_name, passwordHash: await hashPassword(password), isGuest: false });
      try {
        // The unique index decides, so two concurrent registrations cannot both win.
        await insertUser(user);
      } catch (error) {
        if (error instanceof UniqueConstraintViolationException) throw new AppError('EMAIL_TAKEN');
        throw error;
      }
      return session(user);
    },

    async login({ email, password }) {
      const user = await fork().findOne(User, { email });
      const ok = user?.passwordHash ? await verifyPassword(password, user.passwordHash) : await verifyAgainstDecoy(password);
      if (!user || !ok) throw new AppError('INVALID_CREDENTIALS');
      return session(user);
    },

    async guest({ display_name }) {
      const user = new User({ email: null, displayName: display_name, passwordHash: null, isGuest: true });
      await insertUser(user);
      return session(user);
    },

    async me(principal) {
      const user = await fork().findOne(User, { id: principal.userId });
      if (!user) throw accountGone();
      return toUserView(user);
    },
  };
}

/** The contract's `User` shape. */
export const toUserView = (user: User): UserView => ({
  id: user.id,
  email: user.email,
  display_name: user.displayName,
  is_guest: user.isGuest,
});

import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

/** An account: registered (email + password) or a guest (display name only). */
export class User {
  readonly id: string = randomUUID();
  email: string | null;
  displayName: string;
  passwordHash: string | null;
  isGuest: boolean;
  readonly createdAt: Date = new Date();

  constructor(init: { email: string | null; displayName: string; passwordHash: string | null; isGuest: boolean }) {
    this.email = init.email;
    this.displayName = init.displayName;
    this.passwordHash = init.passwordHash;
    this.isGuest = init.isGuest;
  }
}

export const UserSchema = new EntitySchema<User>({
  class: User,
  tableName: 'users',
  properties: {
    id: { type: 'uuid', primary: true },
    // Stored normalised (trimmed, lower-case), so a plain unique index is case-insensitive in effect.
    email: { type: 'text', nullable: true, unique: 'users_email_unique' },
    displayName: { type: 'text' },
    passwordHash: { type: 'text', nullable: true },
    isGuest: { type: 'boolean' },
    createdAt: { type: 'datetime' },
  },
});

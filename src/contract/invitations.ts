import { z } from 'zod';
import { displayName, email, timestamp } from './schemas';

/** Invitations (`/api/v1/meetings/{room_code}/invitations`, docs/api.md "Invitations"): bodies and answers. */

/** At most this many invitees per request. */
export const maxInviteesPerRequest = 50;

export const invitationsBody = z.strictObject({
  invitees: z
    .array(z.strictObject({ email, display_name: displayName.optional() }))
    .min(1, 'must name at least one invitee')
    .max(maxInviteesPerRequest, `must name at most ${maxInviteesPerRequest} invitees`)
    .refine((invitees) => new Set(invitees.map((i) => i.email)).size === invitees.length, 'must not name an email twice'),
});
export type InvitationsBody = z.infer<typeof invitationsBody>;

export const invitationStatuses = ['pending', 'accepted', 'revoked', 'expired'] as const;

export const invitationView = z.object({
  id: z.uuid(),
  email: z.string(),
  display_name: z.string().nullable(),
  status: z.enum(invitationStatuses).describe('expired: still pending past expires_at'),
  created_at: timestamp,
  expires_at: timestamp,
  accepted_at: timestamp.nullable(),
  invite_url: z
    .string()
    .nullable()
    .describe('the link with the token: only in the answer that created the invitation (the server keeps only a hash of the token), null after'),
  email_status: z
    .enum(['pending', 'sent', 'failed'])
    .nullable()
    .describe('the invitation email: queued or being retried, handed to the SMTP server, or given up on; null when the server sends no email (SMTP_URL unset)'),
  email_error: z.string().nullable().describe("the SMTP server's last refusal, while retrying or once failed"),
});
export type InvitationView = z.infer<typeof invitationView>;
export const invitationsResult = z.object({ invitations: z.array(invitationView) });
export const invitationResult = z.object({ invitation: invitationView });

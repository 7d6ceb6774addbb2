import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './ports';

/** One message the server accepted: its envelope, its raw source and what mailparser made of it. */
export interface ReceivedMail {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
  parsed: ParsedMail;
}

/** An SMTP error answer, e.g. 451 (try again later) or 550 (no such mailbox). */
export interface SmtpRefusal {
  code: number;
  message: string;
}

/**
 * A mail server as the tests play it: a real SMTP server (the smtp-server package) on 127.0.0.1
 * that records every message it accepts and refuses recipients as `refuse` says. It may be
 * stopped and started again on the same port (an SMTP server that is down, then up).
 */
export interface TestSmtpServer {
  /** `smtp://user:pass@127.0.0.1:{port}`, for SMTP_URL. */
  url: string;
  received: ReceivedMail[];
  /** Every RCPT TO the server was asked, refused or not, in order. */
  recipients: string[];
  /** Decides per recipient: null accepts, a refusal answers it (and the message is not taken). */
  refuse: (recipient: string) => SmtpRefusal | null | Promise<SmtpRefusal | null>;
  /** The messages received for one recipient. */
  to(address: string): ReceivedMail[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

export const smtpUser = 'mailer';
export const smtpPassword = 'mail-secret';

/** A test SMTP server on a port of its own; listening unless `listening: false` (start it later). */
export async function startSmtpServer(options: { listening?: boolean } = {}): Promise<TestSmtpServer> {
  const port = await freePort();
  let server: SMTPServer | undefined;
  const test: TestSmtpServer = {
    url: `smtp://${smtpUser}:${smtpPassword}@127.0.0.1:${port}`,
    received: [],
    recipients: [],
    refuse: () => null,
    to: (address) => test.received.filter((mail) => mail.to.includes(address)),
    async start() {
      server = new SMTPServer({
        // Plain text on loopback: STARTTLS would need a certificate, and the dispatcher's TLS is nodemailer's own.
        disabledCommands: ['STARTTLS'],
        allowInsecureAuth: true,
        logger: false,
        onAuth(auth, _session, callback) {
          if (auth.username === smtpUser && auth.password === smtpPassword) callback(null, { user: auth.username });
          else callback(Object.assign(new Error('bad credentials'), { responseCode: 535 }));
        },
        onRcptTo(address, _session, callback) {
          test.recipients.push(address.address);
          Promise.resolve(test.refuse(address.address)).then(
            (refusal) => callback(refusal ? Object.assign(new Error(refusal.message), { responseCode: refusal.code }) : undefined),
            (error: unknown) => callback(error as Error),
          );
        },
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            simpleParser(raw).then(
              (parsed) => {
                test.received.push({
                  from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                  to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
                  user: session.user as string | undefined,
                  raw,
                  parsed,
                });
                callback();
              },
              (error: unknown) => callback(error as Error),
            );
          });
        },
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => resolve());
      });
    },
    async stop() {
      const running = server;
      server = undefined;
      if (running) await new Promise<void>((resolve) => running.close(() => resolve()));
    },
  };
  if (options.listening !== false) await test.start();
  return test;
}

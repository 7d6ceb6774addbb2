/**
 * The helper's side of bench/lib/processes.ts `forkHelper`, in a module of its own so that a
 * helper loads nothing else of the bench (processes.ts brings the app's database code with it).
 */

/** In a forked helper: announce readiness and answer the parent's calls. */
export function serveParent(hello: Record<string, unknown>, handlers: Record<string, (args: any) => unknown>): void {
  process.on('message', (message: { id: number; type: string; args: unknown }) => {
    const handler = handlers[message.type];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown call ${message.type}`);
        return handler(message.args);
      })
      .then(
        (result) => process.send!({ id: message.id, result: result ?? null }),
        (error: unknown) => process.send!({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  // The parent going away (even by kill -9) ends the helper.
  process.on('disconnect', () => process.exit(0));
  process.send!({ hello });
}

/**
 * Dependency rules: the layering of docs/architecture.md, checked by `npm run lint`
 * (dependency-cruiser over src/). Type-only imports count (`tsPreCompilationDeps`): a cycle
 * through types is still two folders that cannot be read apart.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Files never depend on each other in a loop, type-only imports included.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'contract-stands-alone',
      comment: 'contract/ is what clients share: it imports nothing of the server.',
      severity: 'error',
      from: { path: '^src/contract/' },
      to: { path: '^src/', pathNot: '^src/contract/' },
    },
    {
      name: 'cluster-only-from-the-root',
      comment:
        'Only the composition root (app.ts builds the node, its rooms in compose-rooms.ts; main.ts starts it) and the cluster itself wire cluster/; the rest reach it through interfaces.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/cluster/', '^src/app\\.ts$', '^src/compose-rooms\\.ts$', '^src/main\\.ts$'] },
      to: { path: '^src/cluster/' },
    },
    {
      name: 'cluster-builds-no-rooms',
      comment: 'The cluster maps rooms to nodes; the room runtime it runs them on is built by the composition root (compose-rooms.ts).',
      severity: 'error',
      from: { path: '^src/cluster/' },
      to: { path: '^src/rooms/room-runtime\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'rooms-know-no-webhooks',
      comment: 'Rooms commit through a store they are given; webhooks plug into it, rooms never import them.',
      severity: 'error',
      from: { path: '^src/rooms/' },
      to: { path: '^src/webhooks/' },
    },
    {
      name: 'rooms-know-no-mail',
      comment: 'Invitation emails are queued by the invitations service through the Mailer it is given; rooms never import mail/.',
      severity: 'error',
      from: { path: '^src/rooms/' },
      to: { path: '^src/mail/' },
    },
    {
      name: 'rooms-know-no-invitations',
      comment: "The meetings service checks a join's invitation through a function it is given; rooms never import invitations/.",
      severity: 'error',
      from: { path: '^src/rooms/' },
      to: { path: '^src/invitations/' },
    },
    {
      name: 'invitations-know-no-webhooks',
      comment: 'Invitation events reach the webhooks through the InvitationListener port; invitations never import webhooks/.',
      severity: 'error',
      from: { path: '^src/invitations/' },
      to: { path: '^src/webhooks/' },
    },
    {
      name: 'live-state-below-rooms',
      comment: 'The live-state store depends on nothing above it.',
      severity: 'error',
      from: { path: '^src/live-state/' },
      to: { path: '^src/(rooms|cluster|realtime|http|webhooks|auth|app)' },
    },
    {
      name: 'browser-code-shares-only-the-contract',
      comment: 'The SDK and the page run in browsers: of the server they import only contract/.',
      severity: 'error',
      from: { path: '^src/(client|web)/' },
      to: { path: '^src/', pathNot: '^src/(client|web|contract)/' },
    },
    {
      name: 'edges-stay-edges',
      comment: 'errors/, config/ and logging/ are leaves the others build on.',
      severity: 'error',
      from: { path: '^src/(errors|config|logging)/' },
      to: { path: '^src/(rooms|cluster|realtime|http|webhooks|mail|auth|live-state|persistence)/' },
    },
    {
      name: 'machine-imports-only-xstate',
      comment: 'The room machine is pure: xstate and the pure step helpers and types of rooms/, nothing with effects.',
      severity: 'error',
      from: { path: '^src/rooms/room\\.(machine|setup)\\.ts$' },
      to: { dependencyTypes: ['npm'], pathNot: 'node_modules/xstate/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};

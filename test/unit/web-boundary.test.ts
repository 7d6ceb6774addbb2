import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The meeting page talks to the server only through the client SDK: its modules import one
 * another, their stylesheet and `../client`, and none opens a connection of its own.
 */
const webDir = path.resolve(__dirname, '../../src/web');
const modules = readdirSync(webDir).filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));

describe('the page (src/web) and the SDK (src/client)', () => {
  it('has modules to check', () => {
    expect(modules).toEqual(expect.arrayContaining(['main.ts', 'meeting.ts']));
  });

  it.each(modules)('%s imports only the SDK and its own modules', (file) => {
    const source = readFileSync(path.join(webDir, file), 'utf8');
    const specifiers = [...source.matchAll(/^import\s+(?:[^'"]*\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((match) => match[1]);
    for (const specifier of specifiers) expect(specifier).toMatch(/^(\.\.\/client|\.\/[a-z-]+(\.css)?)$/);
  });

  it.each(modules)('%s opens no connection of its own (no fetch, XMLHttpRequest, WebSocket or io())', (file) => {
    const source = readFileSync(path.join(webDir, file), 'utf8');
    expect(source).not.toMatch(/\bfetch\s*\(|XMLHttpRequest|WebSocket|EventSource|\bio\s*\(|sendBeacon/);
  });
});

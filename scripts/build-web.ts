import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * Builds what browsers load, with esbuild:
 * - `dist/web/`: the meeting page. `index.html` names its script and stylesheet by content hash
 *   (`assets/main-<hash>.js`), so the server can let browsers cache assets for a year and the
 *   page itself never (a new build is seen at once).
 * - `dist/client/meeting-client.mjs`: the SDK as one ES module (socket.io-client included), what
 *   `import … from 'meeting-rooms/client'` loads (its types: `tsc -p tsconfig.client.json`).
 * Run by `npm run build` (so `npm start`) and by the test suite's global setup.
 */
export async function buildWeb(projectDir = path.resolve(__dirname, '..')): Promise<void> {
  const src = path.join(projectDir, 'src');
  const outDir = path.join(projectDir, 'dist', 'web');
  // Nothing is deleted: a server running from dist/ keeps serving while it is rebuilt (assets are hashed).
  await mkdir(outDir, { recursive: true });

  const common = { absWorkingDir: projectDir, bundle: true, format: 'esm', target: 'es2022', minify: true, sourcemap: true, logLevel: 'warning' } as const;
  const page = await build({
    ...common,
    entryPoints: [path.join(src, 'web', 'main.ts')],
    outdir: path.join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
  });
  const outputs = Object.keys(page.metafile.outputs).map((file) => path.relative(outDir, path.resolve(projectDir, file)));
  const script = outputs.find((file) => file.endsWith('.js'));
  const stylesheet = outputs.find((file) => file.endsWith('.css'));
  if (!script || !stylesheet) throw new Error(`the page build made no script or no stylesheet: ${outputs.join(', ')}`);
  const template = await readFile(path.join(src, 'web', 'index.html'), 'utf8');
  const html = template.replace('{{script}}', `/${script}`).replace('{{stylesheet}}', `/${stylesheet}`);
  await writeFile(path.join(outDir, 'index.html.tmp'), html);
  await rename(path.join(outDir, 'index.html.tmp'), path.join(outDir, 'index.html'));

  await build({ ...common, entryPoints: [path.join(src, 'client', 'index.ts')], outfile: path.join(projectDir, 'dist', 'client', 'meeting-client.mjs') });
}

if (require.main === module) {
  buildWeb().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The docs stay connected: every reference in the code to a page (`docs/api.md`) or to a section of
 * one (`docs/realtime.md "Active speaker"`, or `README "Quick start"`) names a file that exists and a
 * heading that file has; every Markdown link between the README and the pages under docs/ reaches
 * a file, and an anchor that one of its headings makes; the README's map lists every page.
 */
const root = path.resolve(__dirname, '../..');
const relative = (file: string) => path.relative(root, file);

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === 'node_modules' || name === 'results' ? [] : filesUnder(file, keep);
    return keep(file) ? [file] : [];
  });
}

/** The text of a Markdown file with its fenced code blocks blanked out (a `#` there is a shell comment, not a heading). */
function withoutFences(markdown: string): string {
  let fenced = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (/^\s*```/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line;
    })
    .join('\n');
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

interface Headings {
  /** The text of each heading, inline code and emphasis marks dropped. */
  texts: string[];
  /** The anchor of each heading; a repeated one gets -1, -2, … as on GitHub. */
  anchors: Set<string>;
}

const headingCache = new Map<string, Headings>();
function headingsOf(file: string): Headings {
  let headings = headingCache.get(file);
  if (!headings) {
    const texts = [...withoutFences(readFileSync(file, 'utf8')).matchAll(/^#{1,6} +(.+?) *#*$/gm)].map((match) =>
      match[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, ''),
    );
    const anchors = new Set<string>();
    const seen = new Map<string, number>();
    for (const text of texts) {
      const base = slug(text);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    headings = { texts, anchors };
    headingCache.set(file, headings);
  }
  return headings;
}

const markdownFiles = [path.join(root, 'README.md'), ...filesUnder(path.join(root, 'docs'), (file) => file.endsWith('.md'))];
const sourceFiles = [
  ...['src', 'test', 'bench', 'scripts'].flatMap((dir) => filesUnder(path.join(root, dir), (file) => /\.(ts|js|mjs|sh|html|css)$/.test(file))),
  path.join(root, '.ci/run'),
  path.join(root, 'deploy/haproxy.cfg'),
];

describe('references from the code to the docs', () => {
  // A page, or a page and its sections: `docs/api.md`, `README "Quick start"`, `docs/realtime.md "Presence" and
  // "Active speaker"`, `docs/operations.md "Data model (PostgreSQL)", "Redis keys"`.
  const reference = /\b(README(?:\.md)?|docs\/[\w./-]+?\.md)\b((?:(?:,| and)? +"[^"\n]+")*)/g;
  const references = sourceFiles.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(reference)].map((match) => ({
      at: `${relative(file)}: ${match[0]}`,
      page: match[1]!.startsWith('README') ? 'README.md' : match[1]!,
      sections: [...match[2]!.matchAll(/"([^"]+)"/g)].map((section) => section[1]!),
    })),
  );

  it('are found (the scan works)', () => {
    expect(references.length).toBeGreaterThan(50);
    expect(references.some((ref) => ref.sections.length > 0)).toBe(true);
  });

  it('name pages that exist', () => {
    expect(references.filter((ref) => !existsSync(path.join(root, ref.page))).map((ref) => ref.at)).toEqual([]);
  });

  it('name sections that are headings of those pages', () => {
    const missing = references.flatMap((ref) => {
      const file = path.join(root, ref.page);
      if (!existsSync(file)) return [];
      const texts = headingsOf(file).texts.map((text) => text.toLowerCase());
      return ref.sections.filter((section) => !texts.includes(section.toLowerCase())).map((section) => `${ref.at} → "${section}"`);
    });
    expect(missing).toEqual([]);
  });

  it("use no section numbers, which these pages do not have (an RFC's are fine)", () => {
    const numbered = sourceFiles.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return [...text.matchAll(/\u00a7 ?\d/g)]
        .filter((match) => !/RFC \d+ $/.test(text.slice(Math.max(0, match.index! - 12), match.index)))
        .map((match) => `${relative(file)}: …${text.slice(Math.max(0, match.index! - 30), match.index! + 3)}`);
    });
    expect(numbered).toEqual([]);
  });
});

describe('links between the README and the docs pages', () => {
  const links = markdownFiles.flatMap((file) => {
    // Inline code goes first (a link's text may be code, as in [`deploy/haproxy.cfg`](…)); autolinks <http…> never match.
    const text = withoutFences(readFileSync(file, 'utf8')).replace(/`[^`\n]*`/g, '');
    return [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((match) => ({ file, target: match[1]! }));
  });
  const local = links.filter((link) => !/^(https?:|mailto:)/.test(link.target));

  it('are found (the scan works)', () => {
    expect(markdownFiles.length).toBeGreaterThan(10);
    expect(local.length).toBeGreaterThan(50);
  });

  it('reach files inside the repository that exist', () => {
    const broken = local.flatMap(({ file, target }) => {
      const [pathPart] = target.split('#');
      if (!pathPart) return [];
      const resolved = path.resolve(path.dirname(file), decodeURIComponent(pathPart));
      const inside = resolved === root || resolved.startsWith(root + path.sep);
      return inside && existsSync(resolved) ? [] : [`${relative(file)}: ${target}`];
    });
    expect(broken).toEqual([]);
  });

  it('reach anchors that a heading of the target makes', () => {
    const broken = local.flatMap(({ file, target }) => {
      const [pathPart, anchor] = target.split('#');
      if (anchor === undefined) return [];
      const targetFile = pathPart ? path.resolve(path.dirname(file), decodeURIComponent(pathPart)) : file;
      if (!targetFile.endsWith('.md') || !existsSync(targetFile)) return [`${relative(file)}: ${target} (not a Markdown page)`];
      return headingsOf(targetFile).anchors.has(anchor) ? [] : [`${relative(file)}: ${target}`];
    });
    expect(broken).toEqual([]);
  });

  it("the README's map lists every page under docs/", () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const map = /^## Documentation\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1] ?? '';
    const pages = markdownFiles.filter((file) => file.startsWith(path.join(root, 'docs') + path.sep)).map(relative);
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.filter((page) => !map.includes(`](${page})`))).toEqual([]);
  });

  it('mention no issue numbers: the pages stand alone', () => {
    const mentions = markdownFiles.flatMap((file) =>
      [...withoutFences(readFileSync(file, 'utf8')).matchAll(/(?:\bissues? *#? *\d+|(?<![\w&/])#\d+\b)/gi)].map((match) => `${relative(file)}: ${match[0]}`),
    );
    expect(mentions).toEqual([]);
  });
});

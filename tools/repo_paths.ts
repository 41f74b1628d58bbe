/**
 * Finds references that point nowhere: repository paths named in code, manifests, charts and docs
 * (`lib/config.ts`, `docs/operations.md`, a bare `DESIGN.md`), and relative Markdown links between
 * docs, anchors included. Moving or renaming a file then fails tests/repo_paths_test.ts instead of
 * leaving readers a dead pointer.
 *
 * `deno run --allow-read tools/repo_paths.ts` prints every broken reference and exits 1 if any.
 *
 * @module
 */

import { noArguments } from "./cli.ts";

/** One reference that does not resolve. */
export interface BrokenReference {
  /** File that holds the reference, relative to the repository root. */
  file: string;
  /** 1-based line of the reference. */
  line: number;
  /** The reference as written. */
  target: string;
  /** Why it does not resolve. */
  reason: string;
}

/** A reference found in a file, before it is resolved. */
export interface Reference {
  line: number;
  target: string;
  /** `path`: named in prose or code, resolved from the root; `link`: a Markdown link. */
  kind: "path" | "bare" | "link";
}

// Top-level folders whose paths are checked wherever they are named. A path must start there, not
// in the middle of a URL or a longer path (`https://…/docs/x`, `/var/run/…`).
const ROOTED =
  /(?<![\w./@:~-])((?:lib|tests|tools|bench|e2e|docs|charts|\.ci|\.github)\/[^\s`'"(),;:\]|]*)/g;
// A bare Markdown file name: README.md, DESIGN.md, RESULTS.md.
const BARE_MD = /(?<![\w./@:~-])([A-Za-z][\w-]*\.md)\b/g;
// Characters that make a token a pattern rather than a path: lib/<concept>.ts, tests/e2e_*_test.ts.
const PATTERN = /[<>*{}$]/;
const LINK = /\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

// This checker and its test name missing files on purpose, as examples.
const SELF = new Set(["tools/repo_paths.ts", "tests/repo_paths_test.ts"]);

/** Files scanned: code, manifests, charts, docs, CI. */
export function isScanned(path: string): boolean {
  if (SELF.has(path)) return false;
  return /\.(ts|md|ya?ml|json|sh|tpl|txt)$/.test(path) || /(^|\/)(Dockerfile|run)$/.test(path);
}

// Fenced code blocks hold commands and output, not links; blank them but keep the line count.
function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, (block) => block.replace(/[^\n]/g, " "));
}

/**
 * The references in one file's text.
 *
 * @example
 * ```ts
 * findReferences("x.ts", "// see lib/config.ts and DESIGN.md");
 * // [{ line: 1, target: "lib/config.ts", kind: "path" }, { line: 1, target: "DESIGN.md", kind: "bare" }]
 * ```
 */
export function findReferences(file: string, text: string): Reference[] {
  const out: Reference[] = [];
  // A Markdown link's target is checked as a link (relative to its file), not again as a path.
  const prose = file.endsWith(".md")
    ? text.replace(/\]\(([^)\s]+)/g, (_m, target: string) => "](" + " ".repeat(target.length))
    : text;
  const lines = prose.split("\n");
  lines.forEach((content, i) => {
    for (const m of content.matchAll(ROOTED)) {
      const target = m[1].replace(/[.#]+$/, "").replace(/#.*$/, "");
      if (!PATTERN.test(target) && !PATTERN.test(content[m.index! + m[0].length] ?? "")) {
        out.push({ line: i + 1, target, kind: "path" });
      }
    }
    for (const m of content.matchAll(BARE_MD)) {
      out.push({ line: i + 1, target: m[1], kind: "bare" });
    }
  });
  if (file.endsWith(".md")) {
    withoutFences(text).split("\n").forEach((content, i) => {
      for (const m of content.matchAll(LINK)) {
        if (/^[a-z][a-z+.-]*:/i.test(m[1])) continue; // https:, mailto:
        out.push({ line: i + 1, target: m[1], kind: "link" });
      }
    });
  }
  return out;
}

/**
 * GitHub's anchors for a Markdown text's headings: lower case, punctuation dropped, spaces to
 * hyphens, repeats numbered.
 *
 * @example
 * ```ts
 * headingAnchors("## IMDSv2 and the hop limit").has("imdsv2-and-the-hop-limit"); // true
 * ```
 */
export function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, title] of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = title.replace(/`/g, "").replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Read access to the files of a tree, so tests can use an in-memory one. */
export interface Tree {
  /** Every file, relative to the root, `/`-separated. */
  files: string[];
  read(path: string): string;
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

/**
 * Every reference in the scanned files of `tree` that names no file or folder of it, and every
 * Markdown link whose anchor is not a heading of its target.
 *
 * @example
 * ```ts
 * const files = { "a.md": "[b](b.md#nope)", "b.md": "# B" };
 * brokenReferences({ files: Object.keys(files), read: (p) => files[p as keyof typeof files] });
 * // [{ file: "a.md", line: 1, target: "b.md#nope", reason: "no heading #nope in b.md" }]
 * ```
 */
export function brokenReferences(tree: Tree): BrokenReference[] {
  const files = new Set(tree.files);
  const dirs = new Set(tree.files.flatMap((f) => {
    const parts = f.split("/");
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join("/"));
  }));
  const exists = (p: string) => files.has(p) || dirs.has(p);
  const broken: BrokenReference[] = [];
  for (const file of tree.files.filter(isScanned)) {
    const here = dirname(file);
    for (const ref of findReferences(file, tree.read(file))) {
      const miss = (reason: string) =>
        broken.push({ file, line: ref.line, target: ref.target, reason });
      if (ref.kind === "path") {
        if (!exists(normalize(ref.target))) miss("no such file or folder");
      } else if (ref.kind === "bare") {
        if (!exists(ref.target) && !exists(normalize(`${here}/${ref.target}`))) {
          miss("no such file at the root or beside this file");
        }
      } else {
        const [path, anchor] = ref.target.split("#", 2);
        const target = path === "" ? file : normalize(`${here}/${decodeURI(path)}`);
        if (!exists(target)) miss("link to a missing file");
        else if (anchor !== undefined && files.has(target) && target.endsWith(".md")) {
          if (!headingAnchors(tree.read(target)).has(anchor)) {
            miss(`no heading #${anchor} in ${target}`);
          }
        }
      }
    }
  }
  return broken;
}

// Not part of the repository's content: VCS data, caches, generated locally.
const SKIPPED_DIRS = new Set([".git", "node_modules", ".peers", ".demo"]);

/** The repository's files under `root` (a `file:` URL or path), skipping caches. */
export function repositoryTree(root: string | URL): Tree {
  const base = typeof root === "string"
    ? root.replace(/\/$/, "")
    : root.pathname.replace(/\/$/, "");
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const entry of Deno.readDirSync(rel ? `${base}/${rel}` : base)) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory && !SKIPPED_DIRS.has(entry.name)) walk(path);
      else if (entry.isFile) files.push(path);
    }
  };
  walk("");
  files.sort();
  return { files, read: (p) => Deno.readTextFileSync(`${base}/${p}`) };
}

if (import.meta.main) {
  noArguments("repo_paths.ts", Deno.args);
  const broken = brokenReferences(repositoryTree(new URL("..", import.meta.url)));
  for (const b of broken) console.log(`${b.file}:${b.line}: ${b.target}: ${b.reason}`);
  console.log(broken.length ? `${broken.length} broken reference(s)` : "every reference resolves");
  Deno.exit(broken.length ? 1 : 0);
}

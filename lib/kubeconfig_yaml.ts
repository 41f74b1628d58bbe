/**
 * The small kubeconfig reader: JSON, or the plain block YAML that kubectl writes (mappings,
 * lists, plain and quoted scalars, comments). Anchors, tags, flow collections and block scalars
 * are {@linkcode UnsupportedKubeconfigError}, so the caller falls back to the full client.
 *
 * Parse errors never quote the file: a kubeconfig holds tokens and keys.
 *
 * @module
 */

import { KubeError } from "./kube_errors.ts";

/** The kubeconfig uses something only the full client understands. */
export class UnsupportedKubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedKubeconfigError";
  }
}

type Yaml = string | boolean | null | Yaml[] | { [key: string]: Yaml };

interface Line {
  indent: number;
  text: string;
  no: number;
}

/**
 * Throw {@linkcode UnsupportedKubeconfigError} for `what` (on `line`, when known).
 *
 * @example
 * ```ts
 * unsupported("user exec plugins"); // throws: user exec plugins is beyond the small kubeconfig reader
 * ```
 */
export function unsupported(what: string, line?: number): never {
  throw new UnsupportedKubeconfigError(
    `${what}${line === undefined ? "" : ` (line ${line})`} is beyond the small kubeconfig reader`,
  );
}

function scalar(raw: string, no: number): Yaml {
  const text = raw.trim();
  if (text === "" || text === "~" || text === "null") return null;
  if (text === "{}") return {};
  if (text === "[]") return [];
  if (text === "true") return true;
  if (text === "false") return false;
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text) as string;
    } catch {
      throw new KubeError(`malformed double-quoted string on line ${no}`, { kind: "config" });
    }
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) {
      throw new KubeError(`malformed single-quoted string on line ${no}`, { kind: "config" });
    }
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (/^[&*!|>{[]/.test(text)) {
    unsupported("YAML anchors, tags, flow collections or block scalars", no);
  }
  return text;
}

/** Split `key: value`; keys may be quoted. */
function splitKey(text: string, no: number): [string, string] {
  const m = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^:#'"][^:]*?)\s*:(?:\s+(.*)|$)/.exec(text);
  if (!m) throw new KubeError(`expected "key: value" on line ${no}`, { kind: "config" });
  const key = m[1].startsWith('"') || m[1].startsWith("'") ? String(scalar(m[1], no)) : m[1];
  return [key, m[2] ?? ""];
}

function stripComment(text: string): string {
  // A # starts a comment at the line start or after a space, outside quotes.
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || text[i - 1] === " ")) return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

function parseBlock(lines: Line[], start: number, indent: number): [Yaml, number] {
  const first = lines[start];
  if (first.text.startsWith("- ") || first.text === "-") {
    const list: Yaml[] = [];
    let i = start;
    while (i < lines.length && lines[i].indent === indent && /^-( |$)/.test(lines[i].text)) {
      const rest = lines[i].text.slice(1).trimStart();
      if (rest === "") {
        const next = lines[i + 1];
        if (next && next.indent > indent) {
          const [value, end] = parseBlock(lines, i + 1, next.indent);
          list.push(value);
          i = end;
        } else {
          list.push(null);
          i++;
        }
      } else if (/^("(?:[^"\\]|\\.)*"|'[^']*'|[^:#'"][^:]*?)\s*:(\s|$)/.test(rest)) {
        // "- key: value" opens a mapping whose further keys sit two columns in.
        const inner = indent + lines[i].text.length - rest.length;
        const copy = [...lines];
        copy[i] = { indent: inner, text: rest, no: lines[i].no };
        const [value, end] = parseBlock(copy, i, inner);
        list.push(value);
        i = end;
      } else {
        list.push(scalar(rest, lines[i].no));
        i++;
      }
    }
    return [list, i];
  }
  const map: { [key: string]: Yaml } = {};
  let i = start;
  while (i < lines.length && lines[i].indent === indent && !/^-( |$)/.test(lines[i].text)) {
    const [key, rest] = splitKey(lines[i].text, lines[i].no);
    const next = lines[i + 1];
    if (
      rest === "" && next &&
      (next.indent > indent || (next.indent === indent && /^-( |$)/.test(next.text)))
    ) {
      const [value, end] = parseBlock(lines, i + 1, next.indent);
      map[key] = value;
      i = end;
    } else {
      map[key] = scalar(rest, lines[i].no);
      i++;
    }
  }
  if (i < lines.length && lines[i].indent > indent) {
    throw new KubeError(`unexpected indentation on line ${lines[i].no}`, { kind: "config" });
  }
  return [map, i];
}

/**
 * Parse a kubeconfig's text: JSON, or the block YAML that kubectl writes.
 *
 * @example
 * ```ts
 * import { parseKubeconfigText } from "./kubeconfig_yaml.ts";
 * parseKubeconfigText("current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: c\n");
 * ```
 */
export function parseKubeconfigText(text: string): Record<string, unknown> {
  if (text.trimStart().startsWith("{")) {
    try {
      return JSON.parse(text);
    } catch (error) {
      // JSON.parse's message quotes the text near the error; keep only the position.
      const at = /position (\d+)/.exec(String(error))?.[1];
      throw new KubeError(`not valid JSON${at ? ` (at character ${at})` : ""}`, { kind: "config" });
    }
  }
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    if (raw.includes("\t") && /^\s*\t/.test(raw)) {
      throw new KubeError(`tab indentation on line ${index + 1}`, { kind: "config" });
    }
    const stripped = stripComment(raw);
    if (stripped.trim() === "" || stripped.trim() === "---") return;
    const indent = stripped.length - stripped.trimStart().length;
    lines.push({ indent, text: stripped.trim(), no: index + 1 });
  });
  if (lines.length === 0) return {};
  const [value, end] = parseBlock(lines, 0, lines[0].indent);
  if (end < lines.length) {
    throw new KubeError(`unexpected content on line ${lines[end].no}`, { kind: "config" });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new KubeError("the top level is not a mapping", { kind: "config" });
  }
  return value as Record<string, unknown>;
}

/**
 * One line per event on stdout, readable in `kubectl logs` (text) or by log pipelines (JSON).
 *
 * Two guarantees hold for every line whatever the caller passes: it is one line (control
 * characters in the message or a value are escaped, so a NODE_NAME or an error text with a
 * newline cannot forge a second log line), and no URL in it carries user-info (`user:pass@` is
 * replaced by `***@`, as a last line of defence behind each module's own redaction).
 *
 * @module
 */

import { redactUserInfo } from "./redact.ts";

/** Severity, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** Output shape. */
export type LogFormat = "text" | "json";
/** Structured context added to a line. Values are rendered with JSON rules. */
export type LogFields = Record<string, unknown>;

/** What every module logs through; tests pass a recording one. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  /** Where a finished line goes; defaults to stdout. */
  write?: (line: string) => void;
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Level names accepted by `LOG_LEVEL`. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
/** Format names accepted by `LOG_FORMAT`. */
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

const encoder = new TextEncoder();

function writeStdout(line: string): void {
  // Synchronous so lines are never lost when the process exits right after logging.
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

// Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

function escapeChar(c: string): string {
  const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** The finished line with every control character as an escape (`\n`, `\u001b`): one line. */
function oneLine(line: string): string {
  return line.replace(CONTROL, escapeChar);
}

/** Deep copy with every string cleaned of user-info; JSON.stringify escapes the rest. */
function scrubbed(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactUserInfo(value);
  if (value instanceof Error) return redactUserInfo(value.message);
  if (depth > 8 || value === null || typeof value !== "object" || value instanceof Date) {
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => scrubbed(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubbed(v, depth + 1);
  return out;
}

function renderValue(value: unknown): string {
  if (typeof value === "string") {
    const text = redactUserInfo(value);
    return /^[\w.:/@+*-]+$/.test(text) ? text : JSON.stringify(text);
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Error) return JSON.stringify(redactUserInfo(value.message));
  return JSON.stringify(scrubbed(value)) ?? String(value);
}

/**
 * Create a logger. Text lines look like `2026-11-25T10:00:00.000Z INFO cordoned node node=ip-10-0-0-1`.
 *
 * @example
 * ```ts
 * const log = createLogger({ format: "json", level: "debug" });
 * log.info("cordoned node", { node: "ip-10-0-0-1" });
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? "text";
  const min = RANK[options.level ?? "info"];
  const write = options.write ?? writeStdout;
  const now = options.now ?? (() => new Date());
  function emit(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (RANK[level] < min) return;
    const time = now().toISOString();
    if (format === "json") {
      const plain: LogFields = {};
      for (const [k, v] of Object.entries(fields)) plain[k] = scrubbed(v);
      // JSON.stringify leaves U+2028/U+2029 raw; some log viewers break lines there.
      write(oneLine(JSON.stringify({ time, level, msg: redactUserInfo(message), ...plain })));
      return;
    }
    const tail = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}=${renderValue(v)}`)
      .join("");
    write(oneLine(`${time} ${level.toUpperCase().padEnd(5)} ${redactUserInfo(message)}${tail}`));
  }
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** A logger that keeps lines in memory, for tests. */
export function createMemoryLogger(level: LogLevel = "debug"): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ format: "text", level, write: (l) => lines.push(l) });
  return Object.assign(logger, { lines });
}

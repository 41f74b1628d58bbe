/**
 * The handler (`main.ts`) as a subprocess: the one way the local stack (tools/stack.ts), the demo,
 * the benchmarks and the real-peer suite (e2e/peers/) run it. It gets exactly the shipped
 * permission flags (plus read access to the kubeconfig) and runtime flags
 * (lib/runtime_flags.ts), an environment of its own, and every line it prints is kept.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { localPermissions } from "../lib/permissions.ts";
import { HANDLER_RUNTIME_FLAGS } from "../lib/runtime_flags.ts";

/** Path of the handler's entry point. */
const MAIN_TS: string = fileURLToPath(new URL("../main.ts", import.meta.url));

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** How long {@linkcode HandlerProcess.stop} waits for the exit before it sends SIGKILL. */
const STOP_GRACE_MS = 20_000;

/** A running handler subprocess. */
export interface HandlerProcess {
  /** The handler's process id (for RSS readings in /proc). */
  readonly pid: number;
  /** Every stdout and stderr line so far, in arrival order; live. */
  readonly lines: readonly string[];
  /**
   * Resolves with the first line (past or future) matching `match`; rejects when the handler
   * exits without one or after `timeoutMs` (default 20 s). `what` names it in the error.
   */
  waitForLine(
    match: RegExp | ((line: string) => boolean),
    timeoutMs?: number,
    what?: string,
  ): Promise<string>;
  /** Resolves with the exit status once the process has ended and its output is read. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Send `signal` (default SIGTERM) and wait for the exit; SIGKILL after 20 s. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Send a signal, e.g. SIGKILL to simulate a crash. */
  kill(signal: Deno.Signal): void;
}

/** Options of {@linkcode spawnHandler}. */
export interface SpawnOptions {
  /** The handler's environment; nothing else from this process leaks in. */
  env: Record<string, string>;
  /** Read access to this file is granted beside the shipped permissions. */
  kubeconfig?: string;
  /** Arguments of main.ts, e.g. `["--check"]`. */
  args?: string[];
  /** Extra `deno run` flags before main.ts; for measurements only (the benchmarks' variants). */
  denoFlags?: string[];
  /**
   * In place of the shipped runtime flags (`HANDLER_RUNTIME_FLAGS`); for measurements only, e.g.
   * `[]` to measure the handler without its V8 flags.
   */
  runtimeFlags?: readonly string[];
  /** Called with each output line as it arrives (the demo prints them). */
  onLine?: (line: string) => void;
  /** Where every output line is also appended, for reading after a failure. */
  logPath?: string;
}

// Only what Deno itself needs to find its cache; the handler must not depend on the caller's env.
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/**
 * The extra `deno run` flags of a measurement, refused when one of them would grant a permission:
 * the handler always runs with exactly the shipped permissions.
 *
 * @example
 * ```ts
 * nonPermissionFlags(["--no-config"]); // ["--no-config"]
 * nonPermissionFlags(["--no-config", "--seed=1"]); // both kept; --allow-… throws
 * ```
 */
export function nonPermissionFlags(flags: readonly string[] = []): string[] {
  const granting = flags.filter((f) =>
    // Deno 2's short forms too: -A, -P, -R, -W, -N, -E, -S, -I, with or without a value.
    /^(--allow-|--permission-set|-[APRWNESI](=|$)|--unstable-|--deny-)/.test(f)
  );
  if (granting.length > 0) {
    throw new TypeError(`spawnHandler: denoFlags may not change permissions: ${granting}`);
  }
  return [...flags];
}

/**
 * `--quiet` keeps Deno's own progress lines out of the handler's output (they are not log lines);
 * `--no-prompt` makes a missing permission fail instead of waiting on a prompt.
 */
function handlerCommand(options: SpawnOptions): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      ...localPermissions(options.kubeconfig),
      ...nonPermissionFlags(options.runtimeFlags ?? HANDLER_RUNTIME_FLAGS),
      ...nonPermissionFlags(options.denoFlags),
      MAIN_TS,
      ...(options.args ?? []),
    ],
    cwd: REPO_ROOT,
    env: { ...baseEnv(), ...options.env, NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Split a stream into lines for `onLine`, calling `onChunk` after each chunk. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  onChunk: () => void,
): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const line of parts) onLine(line);
    onChunk();
  }
  if (rest) onLine(rest);
  onChunk();
}

/** A file every line is appended to, when there is one. */
function lineFile(path: string | undefined): { write(line: string): void; close(): void } {
  if (path === undefined) return { write() {}, close() {} };
  const file = Deno.openSync(path, { create: true, append: true });
  const encoder = new TextEncoder();
  return {
    write: (line) => file.writeSync(encoder.encode(line + "\n")),
    close: () => file.close(),
  };
}

/** The output seen so far, the exit once it is known, and who waits for either. */
interface Watch {
  lines: string[];
  exited?: Deno.CommandStatus;
  waiters: Set<() => void>;
}

function notify(watch: Watch): void {
  for (const waiter of watch.waiters) waiter();
}

function waitForLine(
  watch: Watch,
  match: RegExp | ((line: string) => boolean),
  timeoutMs: number,
  what: string,
): Promise<string> {
  const test = typeof match === "function" ? match : (line: string) => match.test(line);
  const output = () => watch.lines.join("\n");
  return new Promise((resolve, reject) => {
    const settle = (done: () => void) => {
      watch.waiters.delete(check);
      clearTimeout(timer);
      done();
    };
    const check = () => {
      const hit = watch.lines.find(test);
      if (hit !== undefined) settle(() => resolve(hit));
      else if (watch.exited) {
        const code = watch.exited.code;
        settle(() =>
          reject(
            new Error(`handler exited (${code}) without a line matching ${what}:\n${output()}`),
          )
        );
      }
    };
    const timer = setTimeout(() => {
      settle(() =>
        reject(new Error(`no line matching ${what} within ${timeoutMs} ms:\n${output()}`))
      );
    }, timeoutMs);
    watch.waiters.add(check);
    check();
  });
}

/** Send `signal`, then SIGKILL when the process has not ended within {@linkcode STOP_GRACE_MS}. */
async function stopProcess(
  child: Deno.ChildProcess,
  status: Promise<Deno.CommandStatus>,
  signal: Deno.Signal,
): Promise<Deno.CommandStatus> {
  const kill = (s: Deno.Signal) => {
    try {
      child.kill(s);
    } catch {
      // Already exited.
    }
  };
  kill(signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = await Promise.race([
    status.then(() => false),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), STOP_GRACE_MS)),
  ]);
  clearTimeout(timer);
  if (late) kill("SIGKILL");
  return await status;
}

/**
 * Run `main.ts` with the shipped permission and runtime flags.
 *
 * @example
 * ```ts
 * const p = spawnHandler({ env: { NODE_NAME: "n1" }, kubeconfig: "/tmp/kc" });
 * await p.waitForLine(/Polling/);
 * await p.stop();
 * ```
 */
export function spawnHandler(options: SpawnOptions): HandlerProcess {
  const child = handlerCommand(options).spawn();
  const watch: Watch = { lines: [], waiters: new Set() };
  const file = lineFile(options.logPath);
  const onLine = (line: string) => {
    watch.lines.push(line);
    file.write(line);
    options.onLine?.(line);
  };
  const onChunk = () => notify(watch);
  const pumped = Promise.all([
    pump(child.stdout, onLine, onChunk),
    pump(child.stderr, onLine, onChunk),
  ]);
  const status = pumped.then(() => child.status).then((s) => {
    file.close();
    watch.exited = s;
    notify(watch);
    return s;
  });
  return {
    pid: child.pid,
    lines: watch.lines,
    status,
    waitForLine: (match, timeoutMs = 20_000, what = String(match)) =>
      waitForLine(watch, match, timeoutMs, what),
    kill: (signal) => child.kill(signal),
    stop: (signal = "SIGTERM") => stopProcess(child, status, signal),
  };
}

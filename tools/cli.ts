/**
 * What the scripts in tools/ share as command-line programs: their command line goes through
 * `node:util` `parseArgs` (strict: an unknown option, a missing value or a stray argument is an
 * error, exit code 2), and a stand-in serves until SIGINT or SIGTERM.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * `parseArgs` with the house defaults (`strict`, no positionals unless asked for); throws a
 * TypeError naming the offending argument.
 *
 * @example
 * ```ts
 * const { values } = parseToolArgs({ args: ["--port", "0"], options: { port: { type: "string" } } });
 * values.port; // "0"
 * ```
 */
export function parseToolArgs<const T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  return parseArgs({ strict: true, allowPositionals: false, ...config } as T);
}

/**
 * Read a command line with `parse`; when it throws, print `<tool>: <why>` and `usage` on stderr
 * and return undefined, for the caller to exit with code 2.
 *
 * @example
 * ```ts
 * const port = commandLine("tool.ts", "usage: tool.ts --port N", () => portOf(Deno.args));
 * if (port === undefined) Deno.exit(2);
 * ```
 */
export function commandLine<T>(tool: string, usage: string, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    console.error(`${tool}: ${(error as Error).message}`);
    console.error(usage);
    return undefined;
  }
}

/**
 * Parse the command line of a script that takes no arguments: anything given is refused with
 * `<tool>: <why>` on stderr and exit code 2, rather than ignored.
 *
 * @example
 * ```ts
 * if (import.meta.main) noArguments("chart.ts", Deno.args);
 * ```
 */
export function noArguments(tool: string, args: string[]): void {
  const usage = `usage: ${tool} (no arguments)`;
  if (!commandLine(tool, usage, () => parseToolArgs({ args, options: {} }))) Deno.exit(2);
}

/**
 * Resolve on the first SIGINT or SIGTERM, then stop listening for them.
 *
 * @example
 * ```ts
 * await untilSignal();
 * await server.shutdown();
 * ```
 */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
      resolve();
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
}

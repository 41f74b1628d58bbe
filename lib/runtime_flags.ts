/**
 * The one list of V8 flags the handler runs with. The Dockerfile's `deno compile`, the `start`
 * task in deno.json, the local stack (tools/stack.ts) and the real-peer harness
 * (e2e/peers/harness.ts) all pass {@linkcode HANDLER_RUNTIME_FLAGS}; tests/permissions_test.ts
 * holds them to it, so what is measured is what ships.
 *
 * @module
 */

/**
 * `--max-opt=1`: V8 stops at its baseline compiler (Sparkplug) and never runs the optimising
 * tiers (Maglev, Turbofan). A handler that polls once a second has no hot code worth
 * optimising, and the optimised code and the compilers' own memory are most of its idle growth:
 * measured side by side, 4 MiB less RSS after a minute and a lower sawtooth over the soak, the
 * same idle CPU. The price is paid once, at the first drain: importing the Kubernetes client
 * takes ~0.8 s longer, which the rebalance-recommendation pre-warm usually hides (README,
 * Performance). `--lite-mode` saves more but the Kubernetes client then fails to load.
 */
export const HANDLER_V8_FLAGS: readonly string[] = ["--max-opt=1"];

/**
 * The `deno run` / `deno compile` flag carrying `v8Flags` (none when the list is empty). Deno
 * appends these after `DENO_V8_FLAGS`, so they win over the environment.
 *
 * @example
 * ```ts
 * v8FlagsArgs(["--max-opt=1", "--single-threaded-gc"]); // ["--v8-flags=--max-opt=1,--single-threaded-gc"]
 * v8FlagsArgs([]); // []
 * ```
 */
export function v8FlagsArgs(v8Flags: readonly string[]): string[] {
  for (const flag of v8Flags) {
    if (!/^--[a-z0-9-]+(=[^,\s]+)?$/.test(flag)) {
      throw new TypeError(`v8FlagsArgs: not a single V8 flag: ${JSON.stringify(flag)}`);
    }
  }
  return v8Flags.length ? [`--v8-flags=${v8Flags.join(",")}`] : [];
}

/**
 * The runtime flags of the shipped handler, beside its permissions.
 *
 * @example
 * ```ts
 * const cmd = ["deno", "run", ...HANDLER_PERMISSIONS, ...HANDLER_RUNTIME_FLAGS, "main.ts"];
 * ```
 */
export const HANDLER_RUNTIME_FLAGS: readonly string[] = v8FlagsArgs(HANDLER_V8_FLAGS);

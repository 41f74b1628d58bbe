/**
 * The one list of V8 flags the handler runs with. The Dockerfile's `deno compile`, the `start`
 * task in deno.json and the handler subprocess of the local stack and the real-peer suite
 * (tools/handler_process.ts) all pass {@linkcode HANDLER_RUNTIME_FLAGS}; tests/permissions_test.ts
 * holds them to it, so what is measured is what ships.
 *
 * @module
 */

/**
 * Measured side by side against the handler without them (README, Performance):
 *
 * - `--max-opt=1`: V8 stops at its baseline compiler (Sparkplug) and never runs the optimising
 *   tiers (Maglev, Turbofan). A handler that polls once a second has no hot code worth
 *   optimising, and optimised code and the compilers' memory are most of its idle growth: ~4 MiB
 *   less RSS after a minute, a flatter curve over the soak, the same idle CPU. The price is paid
 *   only where `@kubernetes/client-node` is still imported (kubeconfigs with exec plugins): that
 *   import takes ~0.8 s longer, which the rebalance-recommendation pre-warm usually hides.
 * - `--max-semi-space-size=2` (MiB): caps the young generation, which otherwise grows by tens
 *   of MiB in the allocation burst of a drain; a 250-pod drain peaks ~30 MiB lower (about
 *   150 MiB instead of 180), no slower. Idle, the young generation never grows that far anyway.
 *
 * Tried and left out: `--lite-mode` (turns WebAssembly off, which the Kubernetes client's HTTP
 * parser needs: the drain never starts), `--max-lazy`, `--single-threaded-gc` (no gain).
 */
export const HANDLER_V8_FLAGS: readonly string[] = ["--max-opt=1", "--max-semi-space-size=2"];

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
 * import { HANDLER_PERMISSIONS } from "./permissions.ts";
 * const cmd = ["deno", "run", ...HANDLER_PERMISSIONS, ...HANDLER_RUNTIME_FLAGS, "main.ts"];
 * ```
 */
export const HANDLER_RUNTIME_FLAGS: readonly string[] = v8FlagsArgs(HANDLER_V8_FLAGS);

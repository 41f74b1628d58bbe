/**
 * Whether the machine's kubectl can be run, for the tests and benchmarks that use the real one
 * (and skip, saying so, without it).
 *
 * @module
 */

/**
 * The first line of `kubectl version --client`, or undefined when kubectl cannot be run.
 *
 * @example
 * ```ts
 * await kubectlVersion(); // "Client Version: v1.32.4"
 * ```
 */
export async function kubectlVersion(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("kubectl", {
      args: ["version", "--client"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).split("\n")[0].trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A floor of the soak benchmark: `deno run` of a script that imports `@kubernetes/client-node`
 * (as the handler does at its first drain) and then only keeps a timer. Its resident set is what
 * the client costs before any request is made: the floor under the handler's peak during a
 * drain. Not part of the handler.
 *
 * @module
 */

await import("@kubernetes/client-node");
setInterval(() => {}, 3_600_000);

/**
 * A floor of the soak benchmark: what `deno run` costs with nothing to do but keep one timer
 * (the process would otherwise exit). Not part of the handler.
 *
 * @module
 */

setInterval(() => {}, 3_600_000);

/**
 * The release identity: one version (deno.json's "version") and one image repository. The banner
 * (main.ts), the image tag in daemonset.yaml and the chart's version and appVersion all follow
 * them; `deno task chart` writes them out and tests/version_test.ts fails when one drifts.
 *
 * @module
 */

import denoJson from "../deno.json" with { type: "json" };

/** Where the release workflow publishes the image (GHCR, multi-arch). */
export const IMAGE_REPOSITORY = "ghcr.io/spot-termination-handler/spot-termination-handler";

/** Where the release workflow publishes the chart (an OCI repository on GHCR). */
export const CHART_REPOSITORY = "oci://ghcr.io/spot-termination-handler/charts";

/** The project's version, from deno.json. */
export const VERSION: string = denoJson.version;

/**
 * The image reference of a version.
 *
 * @example
 * ```ts
 * imageReference("1.2.3"); // "ghcr.io/spot-termination-handler/spot-termination-handler:1.2.3"
 * ```
 */
export function imageReference(version: string = VERSION): string {
  return `${IMAGE_REPOSITORY}:${version}`;
}

const IMAGE_LINE = /^(\s+image: )\S+$/m;

/**
 * daemonset.yaml with its container image set to {@linkcode imageReference}; comments and the
 * rest of the text untouched.
 *
 * @example
 * ```ts
 * withManifestImage("        image: old:0.0.1\n", "1.0.0");
 * // "        image: ghcr.io/spot-termination-handler/spot-termination-handler:1.0.0\n"
 * ```
 */
export function withManifestImage(manifest: string, version: string = VERSION): string {
  if (!IMAGE_LINE.test(manifest)) throw new Error("daemonset.yaml: no image: line found");
  return manifest.replace(IMAGE_LINE, `$1${imageReference(version)}`);
}

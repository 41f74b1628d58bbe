import assert from "node:assert/strict";
import { parseAllDocuments } from "../dev_deps.ts";
import { VERSION as BANNER_VERSION } from "../main.ts";
import { imageReference, VERSION, withManifestImage } from "../tools/release.ts";

const read = (path: string) => Deno.readTextFile(new URL(`../${path}`, import.meta.url));

Deno.test("the banner's version is deno.json's version", async () => {
  const denoJson = JSON.parse(await read("deno.json"));
  assert.match(denoJson.version, /^\d+\.\d+\.\d+(-[\w.]+)?$/);
  assert.equal(BANNER_VERSION, denoJson.version);
  assert.equal(VERSION, denoJson.version);
});

Deno.test("daemonset.yaml runs the image tagged with deno.json's version (deno task chart)", async () => {
  const manifest = await read("daemonset.yaml");
  const daemonSet = parseAllDocuments(manifest).map((d) => d.toJS())
    .find((o) => o?.kind === "DaemonSet");
  const images = daemonSet.spec.template.spec.containers.map((c: { image: string }) => c.image);
  assert.deepEqual(images, [imageReference()]);
  assert.equal(withManifestImage(manifest), manifest);
});

Deno.test("withManifestImage rewrites only the image line", () => {
  const manifest = "kind: DaemonSet\n# image: in a comment\n        image: old:0.0.1\n";
  assert.equal(
    withManifestImage(manifest, "2.0.0"),
    "kind: DaemonSet\n# image: in a comment\n        image: " + imageReference("2.0.0") + "\n",
  );
  assert.throws(() => withManifestImage("kind: DaemonSet\n", "2.0.0"), /no image: line/);
});

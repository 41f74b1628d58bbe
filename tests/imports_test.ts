/**
 * deno.json's import map lists exactly what ships: every bare specifier that main.ts and lib/
 * import, and nothing else (test-only packages are pinned in dev_deps.ts).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

function shippedSpecifiers(): Set<string> {
  const files = [
    "main.ts",
    ...[...Deno.readDirSync(`${ROOT}lib`)].filter((e) => e.name.endsWith(".ts")).map((e) =>
      `lib/${e.name}`
    ),
  ];
  const found = new Set<string>();
  // Import statements, dynamic imports and @ts-types comments only, not strings in prose.
  const pattern =
    /^(?:import|export)\b[^;]*?\bfrom\s+"([^".][^"]*)"|\bimport\(\s*"([^".][^"]*)"\s*\)|^\/\/ @ts-types="([^".][^"]*)"/gm;
  for (const file of files) {
    const text = Deno.readTextFileSync(`${ROOT}${file}`);
    for (const match of text.matchAll(pattern)) {
      const spec = match[1] ?? match[2] ?? match[3];
      if (/^(node|npm|jsr|https?):/.test(spec)) continue;
      found.add(spec);
    }
  }
  return found;
}

Deno.test("deno.json's imports are exactly the packages main.ts and lib/ import", () => {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  assert.deepEqual(
    [...shippedSpecifiers()].sort(),
    Object.keys(config.imports).sort(),
  );
});

Deno.test("nothing that ships imports dev_deps.ts, where the test-only packages are", () => {
  const shipped = ["main.ts", ...[...Deno.readDirSync(`${ROOT}lib`)].map((e) => `lib/${e.name}`)];
  const offenders = shipped.filter((f) =>
    Deno.readTextFileSync(`${ROOT}${f}`).includes("dev_deps")
  );
  assert.deepEqual(offenders, []);
});

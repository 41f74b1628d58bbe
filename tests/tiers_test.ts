/**
 * The test tiers in deno.json: `test:unit` runs in-process tests only (no subprocess), `test:e2e`
 * the rest, `test` everything. The two tiers name the same end-to-end files, so no file is run
 * by neither or by both.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks as Record<
  string,
  string
>;
// What starts another process: main.ts, helm, kubectl, deno itself, prlimit.
const SPAWNS =
  /new Deno\.Command|spawnHandler\(|withHandler\(|helmTemplate\(|runHelm\(|kubectlVersion\(|\.spawn\(\)|\.output\(\)/;

function testFiles(): string[] {
  return [...Deno.readDirSync(`${ROOT}tests`)].filter((e) => e.name.endsWith("_test.ts"))
    .map((e) => `tests/${e.name}`).sort();
}

function matches(pattern: string, file: string): boolean {
  return pattern.endsWith("*") ? file.startsWith(pattern.slice(0, -1)) : file === pattern;
}

const ignored = /--ignore=(\S+)/.exec(tasks["test:unit"])![1].split(",");
const e2eArgs = tasks["test:e2e"].split(" ").filter((a) => a.startsWith("tests/"));

Deno.test("the unit and end-to-end tiers split the test files between them", () => {
  assert.deepEqual([...ignored].sort(), [...e2eArgs].sort());
  for (const file of testFiles()) {
    const inE2e = e2eArgs.some((p) => matches(p, file));
    const inUnit = !ignored.some((p) => matches(p, file));
    assert.ok(inE2e !== inUnit, `${file} is in exactly one tier`);
  }
  assert.match(tasks.test, / tests\/$/, "deno task test still runs every file");
});

Deno.test("no file of the unit tier starts a subprocess", () => {
  const unit = testFiles().filter((f) => !ignored.some((p) => matches(p, f)));
  assert.ok(unit.length > 10);
  const offenders = unit.filter((f) => SPAWNS.test(Deno.readTextFileSync(`${ROOT}${f}`)));
  assert.deepEqual(offenders, []);
});

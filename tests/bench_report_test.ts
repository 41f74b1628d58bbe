/**
 * bench/RESULTS.md's rendering, held in golden files: each scenario of
 * tests/fixtures/bench/results.ts rendered and compared byte for byte with
 * `tests/fixtures/bench/report_<name>.golden.md`. To accept a new rendering on purpose, run the
 * command in CONTRIBUTING.md (`REGENERATE` in tests/fixtures/bench/golden.ts) and review the diff.
 * What the report judges (met, missed) is tested apart, in tests/bench_verdicts_test.ts.
 */
import assert from "node:assert/strict";
import { renderResults } from "../bench/report.ts";
import { parseResultsJson } from "../bench/run.ts";
import { assertGolden } from "./fixtures/bench/golden.ts";
import { SCENARIOS } from "./fixtures/bench/results.ts";

const FIXTURES = new URL("./fixtures/bench/", import.meta.url);
const golden = (name: string) => new URL(`report_${name}.golden.md`, FIXTURES);

for (const [name, scenario] of Object.entries(SCENARIOS)) {
  Deno.test(`renderResults of the "${name}" results is report_${name}.golden.md`, async () => {
    await assertGolden(golden(name), renderResults(scenario()));
  });

  Deno.test(`renderResults of the "${name}" results read back from --json is the same golden file`, async () => {
    const back = parseResultsJson(JSON.stringify(scenario()));
    await assertGolden(golden(name), renderResults(back), { update: false });
  });
}

Deno.test("every golden report file has its scenario, so none goes stale unchecked", () => {
  const files = [...Deno.readDirSync(FIXTURES)].map((e) => e.name)
    .filter((n) => n.endsWith(".golden.md")).sort();
  assert.deepEqual(files, Object.keys(SCENARIOS).map((n) => `report_${n}.golden.md`).sort());
});

Deno.test("renderResults gives the same text for the same results, cloned or not", () => {
  const first = renderResults(SCENARIOS.full());
  assert.equal(renderResults(SCENARIOS.full()), first);
  assert.equal(renderResults(structuredClone(SCENARIOS.full())), first);
});

Deno.test("renderResults does not change the results it renders", () => {
  for (const scenario of Object.values(SCENARIOS)) {
    const results = scenario();
    renderResults(results);
    assert.deepEqual(results, scenario());
  }
});

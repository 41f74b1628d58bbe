/**
 * The golden-file check itself (tests/fixtures/bench/golden.ts): a changed rendering fails with a
 * diff a reader can act on, and only the documented command rewrites a golden file.
 */
import assert from "node:assert/strict";
import { AssertionError } from "node:assert";
import { renderResults } from "../bench/report.ts";
import { assertGolden, lineDiff, REGENERATE } from "./fixtures/bench/golden.ts";
import { idle, SCENARIOS } from "./fixtures/bench/results.ts";

const FULL = new URL("./fixtures/bench/report_full.golden.md", import.meta.url);

async function failure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof AssertionError, `expected an AssertionError, got ${error}`);
  return error.message;
}

async function withTempDir(body: (dir: URL) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempDir({ prefix: "golden_test_" });
  try {
    await body(new URL(`file://${path}/`));
  } finally {
    await Deno.remove(path, { recursive: true });
  }
}

Deno.test("a changed figure in the report fails against the real golden file, with a diff of that row", async () => {
  const results = SCENARIOS.full();
  results.idle![1] = idle(43, 0.3, { series: [41 * 1_048_576, 42 * 1_048_576] });
  const message = await failure(assertGolden(FULL, renderResults(results), { update: false }));
  const lines = message.split("\n");
  assert.equal(
    lines[0],
    "tests/fixtures/bench/report_full.golden.md does not match the rendering (- golden, + rendered):",
  );
  // One hunk for the verdict, one for the footprint row, each with its line numbers.
  assert.deepEqual(lines.filter((l) => l.startsWith("@@")), [
    "@@ golden line 20, rendered line 20 @@",
    "@@ golden line 67, rendered line 67 @@",
  ]);
  const row = (cells: string) => lines.find((l) => l.includes(cells));
  assert.match(row("| median 41.0 MiB, max 42.0 MiB ")!, /^- \| idle RSS after 60 s/);
  assert.match(row("| median 41.5 MiB, max 43.0 MiB ")!, /^\+ \| idle RSS after 60 s/);
  assert.match(row("| 41.5 MiB (40.0 MiB–43.0 MiB) |")!, /^\+ \| as shipped \(2\) /);
  // Only the changed rows and their context, not the whole report.
  assert.ok(lines.length < 30, message);
  assert.equal(lines.filter((l) => /^[-+] /.test(l)).length, 4, message);
  assert.equal(
    lines.at(-1),
    `If the new rendering is intended: ${REGENERATE}, then review git diff ` +
      "tests/fixtures/bench/report_full.golden.md",
  );
});

Deno.test("a report that matches its golden file passes and leaves the file alone", async () => {
  const before = await Deno.stat(FULL);
  assert.equal(
    await assertGolden(FULL, renderResults(SCENARIOS.full()), { update: false }),
    "matched",
  );
  assert.equal((await Deno.stat(FULL)).mtime?.getTime(), before.mtime?.getTime());
});

Deno.test("lineDiff shows removed and added lines with two lines of context and both line numbers", () => {
  const golden = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", ""].join("\n");
  const rendered = ["a", "b", "c", "d", "E", "f", "g", "h", "i", "j", "k", ""].join("\n");
  assert.equal(
    lineDiff(golden, rendered),
    [
      "@@ golden line 3, rendered line 3 @@",
      "  c",
      "  d",
      "- e",
      "+ E",
      "  f",
      "  g",
      "@@ golden line 9, rendered line 9 @@",
      "  i",
      "  j",
      "+ k",
    ].join("\n"),
  );
});

Deno.test("lineDiff keeps nearby changes in one hunk and aligns inserted lines", () => {
  assert.equal(
    lineDiff("a\nb\nc\nd\n", "a\nx\nb\nc\nd\ny\n"),
    "@@ golden line 1, rendered line 1 @@\n  a\n+ x\n  b\n  c\n  d\n+ y",
  );
  assert.equal(lineDiff("a\nb\n", "a\nb\n"), undefined);
});

Deno.test("lineDiff makes differences nobody can see visible: white space, CR, BOM, final newline", () => {
  assert.equal(
    lineDiff("| a |\n", "| a | \n"),
    '@@ golden line 1, rendered line 1 @@\n- | a |\n+ "| a | "',
  );
  assert.equal(lineDiff("a\n", "a\r\n"), '@@ golden line 1, rendered line 1 @@\n- a\n+ "a\\r"');
  assert.equal(
    lineDiff("\ufeff# R\n", "# R\n"),
    '@@ golden line 1, rendered line 1 @@\n- "\ufeff# R"\n+ # R',
  );
  assert.equal(
    lineDiff("x\ny\n", "x\ny"),
    "@@ golden line 1, rendered line 1 @@\n  x\n- y\n+ y  \\ no newline at end",
  );
  assert.equal(lineDiff("x\n", "x\n\n"), "@@ golden line 1, rendered line 1 @@\n  x\n+");
});

Deno.test("assertGolden compares bytes: a byte order mark alone is a mismatch", async () => {
  await withTempDir(async (dir) => {
    const file = new URL("bom.golden.md", dir);
    await Deno.writeFile(
      file,
      new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("# R\n")]),
    );
    const message = await failure(assertGolden(file, "# R\n", { update: false }));
    assert.ok(message.includes('- "\ufeff# R"\n+ # R'), message);
  });
});

Deno.test("assertGolden names the command that creates a missing golden file", async () => {
  await withTempDir(async (dir) => {
    const file = new URL("absent.golden.md", dir);
    const message = await failure(assertGolden(file, "# R\n", { update: false }));
    assert.match(message, /^golden file \/.*\/absent\.golden\.md does not exist; create it with: /);
    assert.ok(message.endsWith(REGENERATE));
  });
});

Deno.test("assertGolden with update writes the rendering, then it matches", async () => {
  await withTempDir(async (dir) => {
    const file = new URL("r.golden.md", dir);
    assert.equal(await assertGolden(file, "# one\n", { update: true }), "created");
    assert.equal(await assertGolden(file, "# two\n", { update: true }), "updated");
    assert.equal(await Deno.readTextFile(file), "# two\n");
    assert.equal(await assertGolden(file, "# two\n", { update: false }), "matched");
    await failure(assertGolden(file, "# one\n", { update: false }));
    assert.equal(await Deno.readTextFile(file), "# two\n", "a failure writes nothing");
  });
});

Deno.test("CONTRIBUTING.md documents the command that regenerates the golden files", async () => {
  const text = await Deno.readTextFile(new URL("../CONTRIBUTING.md", import.meta.url));
  assert.ok(text.includes(`\`${REGENERATE}\``), "CONTRIBUTING.md names the regenerate command");
});

Deno.test("deno fmt leaves the golden files alone", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.ok(
    config.fmt.exclude.includes("tests/fixtures/bench/*.golden.md"),
    "deno.json fmt.exclude",
  );
});

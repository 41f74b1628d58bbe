import assert from "node:assert/strict";
import {
  brokenReferences,
  findReferences,
  headingAnchors,
  repositoryTree,
  type Tree,
} from "../tools/repo_paths.ts";

function tree(files: Record<string, string>): Tree {
  return { files: Object.keys(files), read: (p) => files[p] };
}

Deno.test("every file path named in code, manifests, charts and docs exists, and every link between docs resolves", () => {
  const broken = brokenReferences(repositoryTree(new URL("..", import.meta.url)));
  assert.deepEqual(
    broken.map((b) => `${b.file}:${b.line}: ${b.target}: ${b.reason}`),
    [],
  );
});

Deno.test("brokenReferences reports a path in a code comment that names no file", () => {
  const broken = brokenReferences(tree({
    "lib/a.ts": "// measured in DESIGN.md; see lib/b.ts and lib/gone.ts\n",
    "lib/b.ts": "",
  }));
  assert.deepEqual(broken.map((b) => [b.file, b.line, b.target]), [
    ["lib/a.ts", 1, "lib/gone.ts"],
    ["lib/a.ts", 1, "DESIGN.md"],
  ]);
});

Deno.test("brokenReferences reports a manifest comment pointing at a missing doc", () => {
  const broken = brokenReferences(tree({
    "daemonset.yaml": "# docs/operators.md covers install\nkind: DaemonSet\n",
    "docs/operations.md": "# Operations\n",
  }));
  assert.deepEqual(broken.map((b) => [b.line, b.target]), [[1, "docs/operators.md"]]);
});

Deno.test("brokenReferences follows relative Markdown links and their anchors", () => {
  const broken = brokenReferences(tree({
    "README.md":
      "[ops](docs/operations.md#hop-limit) [up](docs/operations.md#upgrading) [x](docs/x.md)\n",
    "docs/operations.md": "# Operations\n\n## Upgrading\n\n[home](../README.md) [self](#nowhere)\n",
  }));
  assert.deepEqual(broken.map((b) => [b.file, b.target, b.reason]), [
    ["README.md", "docs/operations.md#hop-limit", "no heading #hop-limit in docs/operations.md"],
    ["README.md", "docs/x.md", "link to a missing file"],
    ["docs/operations.md", "#nowhere", "no heading #nowhere in docs/operations.md"],
  ]);
});

Deno.test("findReferences skips URLs, absolute paths, patterns and fenced code", () => {
  const refs = findReferences(
    "docs/a.md",
    [
      "See https://github.com/org/repo/docs/x.md and /var/run/secrets/lib/token.",
      "One `lib/<concept>.ts` per `tests/e2e_*_test.ts`.",
      "```md",
      "[not a link](missing.md)",
      "```",
      "[mail](mailto:ops@example.com) [web](https://example.com/a.md)",
    ].join("\n"),
  );
  assert.deepEqual(refs.filter((r) => r.kind === "link"), []);
  assert.deepEqual(refs.filter((r) => r.kind === "path").map((r) => r.target), []);
});

Deno.test("headingAnchors follows GitHub's slugs, repeats numbered", () => {
  const anchors = headingAnchors(
    "# Operations\n## IMDSv2 and the hop limit\n## `deno task e2e` (real peers)\n## Logs\n## Logs\n",
  );
  assert.deepEqual([...anchors], [
    "operations",
    "imdsv2-and-the-hop-limit",
    "deno-task-e2e-real-peers",
    "logs",
    "logs-1",
  ]);
});

import assert from "node:assert/strict";
import { mock } from "node:test";
import { commandLine, parseToolArgs } from "../tools/cli.ts";

const options = { port: { type: "string" }, quiet: { type: "boolean" } } as const;

Deno.test("parseToolArgs reads --name value, --name=value and flags", () => {
  const { values, positionals } = parseToolArgs({
    args: ["--port", "8001", "--quiet"],
    options,
  });
  assert.deepEqual({ ...values }, { port: "8001", quiet: true });
  assert.deepEqual(positionals, []);
  assert.equal(parseToolArgs({ args: ["--port=0"], options }).values.port, "0");
});

Deno.test("parseToolArgs refuses unknown options, missing values and stray arguments", () => {
  assert.throws(() => parseToolArgs({ args: ["--prot", "1"], options }), /'--prot'/);
  assert.throws(() => parseToolArgs({ args: ["--port"], options }), /--port/);
  assert.throws(() => parseToolArgs({ args: ["extra"], options }), /'extra'/);
  assert.throws(() => parseToolArgs({ args: ["x"], options: {} }), /'x'/);
});

Deno.test("parseToolArgs takes positionals only when the tool asks for them", () => {
  const { positionals } = parseToolArgs({
    args: ["i-1=a", "i-2=b"],
    allowPositionals: true,
    options: {},
  });
  assert.deepEqual(positionals, ["i-1=a", "i-2=b"]);
});

Deno.test("commandLine returns what parse read, or prints the tool, the reason and the usage", () => {
  const error = mock.method(console, "error", () => {});
  try {
    assert.equal(commandLine("tool.ts", "usage: tool.ts N", () => 7), 7);
    assert.equal(error.mock.callCount(), 0);
    const bad = commandLine("tool.ts", "usage: tool.ts N", () => {
      throw new TypeError("N must be a number");
    });
    assert.equal(bad, undefined);
    assert.deepEqual(error.mock.calls.map((c) => c.arguments), [
      ["tool.ts: N must be a number"],
      ["usage: tool.ts N"],
    ]);
  } finally {
    error.mock.restore();
  }
});

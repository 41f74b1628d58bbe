import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";

const now = () => new Date("2026-11-25T10:00:00.000Z");

Deno.test("createLogger writes one text line per event with fields", () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), now });
  log.info("node cordoned", { node: "ip-10-0-0-1", pods: 3, reason: "two words" });
  assert.deepEqual(lines, [
    '2026-11-25T10:00:00.000Z INFO  node cordoned node=ip-10-0-0-1 pods=3 reason="two words"',
  ]);
});

Deno.test("createLogger writes JSON lines when asked", () => {
  const lines: string[] = [];
  const log = createLogger({ format: "json", write: (l) => lines.push(l), now });
  log.warn("eviction blocked", { pod: "default/web-1", error: new Error("429") });
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "2026-11-25T10:00:00.000Z",
    level: "warn",
    msg: "eviction blocked",
    pod: "default/web-1",
    error: "429",
  });
});

Deno.test("createLogger drops lines below its level", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "warn", write: (l) => lines.push(l), now });
  log.debug("poll");
  log.info("hello");
  log.warn("careful");
  log.error("broken");
  assert.equal(lines.length, 2);
  assert.match(lines[0], /WARN/);
  assert.match(lines[1], /ERROR/);
});

Deno.test("createLogger keeps a newline in a value on one line", () => {
  const lines: string[] = [];
  createLogger({ write: (l) => lines.push(l), now }).info("x", { msg: "a\nb" });
  assert.equal(lines[0].split("\n").length, 1);
});

Deno.test("every level and both formats: one line, no URL user-info, whatever the values", () => {
  const secret = "http://admin:hunter2@169.254.169.254/latest";
  for (const format of ["text", "json"] as const) {
    for (const level of ["debug", "info", "warn", "error"] as const) {
      const lines: string[] = [];
      const log = createLogger({ format, level: "debug", write: (l) => lines.push(l), now });
      log[level](`poll of ${secret} failed\nINFO forged line`, {
        url: secret,
        error: new Error(`fetch ${secret}: refused\r\n`),
        nested: { endpoints: [secret], note: "a\u2028b\u0085c\x1b[31m" },
        node: "node-1\n2026-11-25T10:00:00.000Z INFO  notice handled",
      });
      assert.equal(lines.length, 1);
      const line = lines[0];
      // deno-lint-ignore no-control-regex -- looking for raw control characters is the point
      assert.ok(!/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(line), `${format}/${level}: ${line}`);
      assert.ok(
        !line.includes("hunter2") && !line.includes("admin:"),
        `${format}/${level}: ${line}`,
      );
      assert.ok(line.includes("http://***@169.254.169.254/latest"), line);
      if (format === "json") {
        const parsed = JSON.parse(line);
        assert.equal(parsed.level, level);
        assert.equal(parsed.node, "node-1\n2026-11-25T10:00:00.000Z INFO  notice handled");
        assert.equal(parsed.nested.note, "a\u2028b\u0085c\x1b[31m", "escaped, not lost");
      } else {
        assert.match(line, /node="node-1\\n2026-11-25T10:00:00\.000Z INFO {2}notice handled"/);
        assert.match(line, /failed\\nINFO forged line/);
      }
    }
  }
});

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

import assert from "node:assert/strict";
import { parsePrometheusTextFormat } from "../dev_deps.ts";
import { createMetrics, METRIC_DEFINITIONS } from "../lib/metrics.ts";

Deno.test("metrics render valid Prometheus text that a real parser reads back", () => {
  const m = createMetrics();
  m.inc("sth_notices_total", { kind: "spot-interruption" });
  m.inc("sth_notices_total", { kind: "spot-interruption" });
  m.inc("sth_notifications_total", { target: "slack", outcome: 'o"dd\\' });
  m.set("sth_last_successful_poll_timestamp_seconds", 1764064800);
  m.inc("sth_imds_polls_total", undefined, 5);
  const families = parsePrometheusTextFormat(m.render());
  const byName = Object.fromEntries(families.map((f: { name: string }) => [f.name, f]));
  assert.deepEqual(Object.keys(byName).sort(), Object.keys(METRIC_DEFINITIONS).sort());
  assert.equal(byName.sth_notices_total.type, "COUNTER");
  assert.deepEqual(byName.sth_notices_total.metrics, [
    { labels: { kind: "spot-interruption" }, value: "2" },
  ]);
  assert.deepEqual(byName.sth_notifications_total.metrics[0].labels, {
    outcome: 'o"dd\\',
    target: "slack",
  });
  assert.equal(byName.sth_imds_polls_total.metrics[0].value, "5");
  assert.equal(byName.sth_last_successful_poll_timestamp_seconds.type, "GAUGE");
});

Deno.test("metrics get returns a series value and 0 for one never touched", () => {
  const m = createMetrics();
  m.inc("sth_evictions_total", { outcome: "evicted" }, 3);
  assert.equal(m.get("sth_evictions_total", { outcome: "evicted" }), 3);
  assert.equal(m.get("sth_evictions_total", { outcome: "blocked" }), 0);
});

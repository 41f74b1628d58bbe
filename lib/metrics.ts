/**
 * A tiny Prometheus registry. prom-client costs ~18 MiB of idle RSS (docs/design.md), more than the
 * rest of the idle handler's own state, and we need only counters and gauges.
 *
 * @module
 */

/** Label set of one series. */
export type Labels = Record<string, string>;

/** Every metric the handler exports, with its type and help text. */
export const METRIC_DEFINITIONS = {
  sth_imds_polls_total: { type: "counter", help: "IMDS poll rounds completed." },
  sth_imds_poll_errors_total: {
    type: "counter",
    help: "IMDS requests that failed, by kind (timeout, refused, http_5xx, malformed, ...).",
  },
  sth_last_successful_poll_timestamp_seconds: {
    type: "gauge",
    help: "Unix time of the last poll round in which IMDS answered.",
  },
  sth_notices_total: { type: "counter", help: "Notices handled, by kind." },
  sth_evictions_total: {
    type: "counter",
    help: "Pod eviction outcomes (evicted, gone, blocked, failed, timeout, aborted).",
  },
  sth_notifications_total: {
    type: "counter",
    help: "Notifications sent, by target and outcome (ok, failed).",
  },
  sth_kube_errors_total: {
    type: "counter",
    help:
      "Kubernetes API failures while handling a notice, by step and kind (transient, forbidden, unauthorized, not-found, config, tls).",
  },
  sth_preflight_check: {
    type: "gauge",
    help: "1 when the start-up/periodic check passed, 0 when it failed, by check.",
  },
  sth_asg_detach_total: {
    type: "counter",
    help: "Auto Scaling detach attempts, by outcome.",
  },
  sth_notices_closed_total: {
    type: "counter",
    help:
      "Notices closed after handling began, by outcome (canceled: a maintenance event over before its time; returned: the node back in service).",
  },
} as const;

/** A metric name from {@linkcode METRIC_DEFINITIONS}. */
export type MetricName = keyof typeof METRIC_DEFINITIONS;

/** What modules record through. */
export interface Metrics {
  inc(name: MetricName, labels?: Labels, by?: number): void;
  set(name: MetricName, value: number, labels?: Labels): void;
  /** Current value of one series (0 when never touched); for tests and health checks. */
  get(name: MetricName, labels?: Labels): number;
  /** Prometheus text exposition format 0.0.4. */
  render(): string;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function seriesKey(labels: Labels = {}): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",")}}`;
}

/**
 * Create an empty registry.
 *
 * @example
 * ```ts
 * const m = createMetrics();
 * m.inc("sth_notices_total", { kind: "spot-interruption" });
 * m.render(); // "# HELP sth_notices_total ...\n# TYPE ...\nsth_notices_total{kind=\"spot-interruption\"} 1\n..."
 * ```
 */
export function createMetrics(): Metrics {
  const values = new Map<MetricName, Map<string, number>>();
  function series(name: MetricName): Map<string, number> {
    let s = values.get(name);
    if (!s) values.set(name, s = new Map());
    return s;
  }
  return {
    inc(name, labels, by = 1) {
      const s = series(name);
      const key = seriesKey(labels);
      s.set(key, (s.get(key) ?? 0) + by);
    },
    set(name, value, labels) {
      series(name).set(seriesKey(labels), value);
    },
    get(name, labels) {
      return values.get(name)?.get(seriesKey(labels)) ?? 0;
    },
    render() {
      const out: string[] = [];
      for (
        const [name, def] of Object.entries(METRIC_DEFINITIONS) as [
          MetricName,
          typeof METRIC_DEFINITIONS[MetricName],
        ][]
      ) {
        out.push(`# HELP ${name} ${def.help}`, `# TYPE ${name} ${def.type}`);
        const s = values.get(name);
        // Unlabelled counters start at 0 so dashboards see the series before the first event.
        if (!s || s.size === 0) {
          if (name === "sth_imds_polls_total") out.push(`${name} 0`);
          continue;
        }
        for (const [key, v] of s) out.push(`${name}${key} ${v}`);
      }
      return out.join("\n") + "\n";
    },
  };
}

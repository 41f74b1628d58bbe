/**
 * A stand-in EC2 instance metadata service for tests, the demo and `deno task mock-imds`. It
 * serves the same shapes as amazon-ec2-metadata-mock (AEMM) for the paths the handler reads,
 * supports IMDSv2 tokens (optionally required), and can inject faults: 5xx, hangs, garbage, and
 * what a hostile stand-in would send (a 100 MB, endless or dripping body; a redirect).
 *
 * Control endpoints on the same server: `POST /__scenario` (JSON {@linkcode MockScenario},
 * replaces the current one), `POST /__expire-tokens`, `POST /__fault` (JSON
 * {@linkcode MockFault} or `null`), `GET /__requests`.
 *
 * @module
 */

import type { Identity } from "../lib/imds.ts";
import { parseToolArgs, untilSignal } from "./cli.ts";
import { HOSTILE_BODIES, type HostileBody, hostileResponse } from "./hostile_imds.ts";

/** What the mock announces. Times are relative to when the scenario was set. */
export interface MockScenario {
  /** Serve instance-action and termination-time after `afterMs` (default 0). */
  spot?: { action?: "terminate" | "stop" | "hibernate"; time?: string; afterMs?: number };
  rebalance?: { noticeTime?: string; afterMs?: number };
  maintenance?: MockMaintenanceEvent[];
  /** `InService` by default. */
  lifecycleState?: string;
}

/** One scheduled event as IMDS lists it. */
export interface MockMaintenanceEvent {
  Code: string;
  Description: string;
  State: string;
  EventId: string;
  NotBefore: string;
  NotAfter?: string;
  NotBeforeDeadline?: string;
}

/** A fault applied to matching requests (all but control endpoints, or only `path`). */
export interface MockFault {
  /** Answer with this status (e.g. 500, or 403 on `api/token` to mimic IMDSv2 being off). */
  status?: number;
  /** Never answer until the client gives up or the mock closes. */
  hang?: boolean;
  /** Answer GETs with 200 and a body that is neither valid JSON nor a time. */
  malformed?: boolean;
  /** Answer (PUT or GET) with 200 and a hostile body: 100 MB, endless, or a slow drip. */
  body?: HostileBody;
  /** Answer (PUT or GET) with `307 Temporary Redirect` to this URL, e.g. a token trap's. */
  redirect?: string;
  /** Affect this many requests, then clear; unlimited when absent. */
  times?: number;
  /** Only this path, relative to `/latest/` (`api/token`, `meta-data/spot/instance-action`). */
  path?: string;
}

/** Options of {@linkcode startMockImds}. */
export interface MockImdsOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  hostname?: string;
  /** IMDSv2 only: requests without a token get 401, like AEMM's `--imdsv2`. */
  requireToken?: boolean;
  identity?: Partial<Identity>;
  scenario?: MockScenario;
  /** Milliseconds clock for token expiry and scenario delays; defaults to `Date.now`. */
  now?: () => number;
  /** Called as each request arrives (before it is answered): lets tests wait for one. */
  onRequest?: (request: MockRequest) => void;
}

/** One request the mock saw (control endpoints excluded). `status` is 0 while unanswered. */
export interface MockRequest {
  method: string;
  path: string;
  hadToken: boolean;
  status: number;
}

/** A running mock; see {@linkcode startMockImds}. */
export interface MockImds {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  setScenario(s: MockScenario): void;
  readonly requests: MockRequest[];
  /** Outstanding tokens now get 401. */
  expireTokens(): void;
  /** Inject 5xx / hang (until close) / garbage / hostile bodies / redirects; `null` clears. */
  fault(f: MockFault | null): void;
  close(): Promise<void>;
}

/** The identity served unless overridden. */
export const DEFAULT_IDENTITY: Identity = {
  instanceId: "i-1234567890abcdef0",
  instanceType: "m5.large",
  availabilityZone: "us-east-1a",
  region: "us-east-1",
};

const TOKEN_HEADER = "x-aws-ec2-metadata-token";
const TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
const SPOT_WARNING_MS = 120_000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * A time as IMDS writes scheduled events: day not zero-padded, `GMT`.
 *
 * @example
 * ```ts
 * formatEventTime(new Date("2019-01-21T09:00:43Z")); // "21 Jan 2019 09:00:43 GMT"
 * ```
 */
export function formatEventTime(time: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${time.getUTCDate()} ${MONTHS[time.getUTCMonth()]} ${time.getUTCFullYear()} ${
    pad(time.getUTCHours())
  }:${pad(time.getUTCMinutes())}:${pad(time.getUTCSeconds())} GMT`;
}

/**
 * A time as IMDS writes spot and rebalance notices: RFC 3339 without milliseconds.
 *
 * @example
 * ```ts
 * formatNoticeTime(new Date("2026-11-25T10:02:00.123Z")); // "2026-11-25T10:02:00Z"
 * ```
 */
export function formatNoticeTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A sample scheduled reboot starting `startsInMs` after `now`, for demos and tests.
 *
 * @example
 * ```ts
 * startMockImds({ scenario: { maintenance: [sampleMaintenanceEvent(Date.now(), 3_600_000)] } });
 * ```
 */
export function sampleMaintenanceEvent(now: number, startsInMs: number): MockMaintenanceEvent {
  return {
    Code: "system-reboot",
    Description: "scheduled reboot",
    State: "active",
    EventId: "instance-event-0d59937288b749b32",
    NotBefore: formatEventTime(new Date(now + startsInMs)),
    NotAfter: formatEventTime(new Date(now + startsInMs + 2 * 3_600_000)),
    NotBeforeDeadline: formatEventTime(new Date(now + startsInMs + 7 * 86_400_000)),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Check a scenario that arrived as JSON; throws a TypeError naming the bad field.
 *
 * @example
 * ```ts
 * validateScenario(JSON.parse('{"spot":{"afterMs":5000}}'));
 * ```
 */
export function validateScenario(value: unknown): MockScenario {
  if (!isRecord(value)) throw new TypeError("scenario: expected a JSON object");
  const { spot, rebalance, maintenance, lifecycleState } = value;
  const checkDelay = (where: string, v: unknown) => {
    if (v !== undefined && (typeof v !== "number" || !(v >= 0))) {
      throw new TypeError(`${where}: expected a number of milliseconds >= 0`);
    }
  };
  const checkString = (where: string, v: unknown) => {
    if (v !== undefined && typeof v !== "string") {
      throw new TypeError(`${where}: expected a string`);
    }
  };
  if (spot !== undefined) {
    if (!isRecord(spot)) throw new TypeError("scenario.spot: expected an object");
    if (
      spot.action !== undefined &&
      !["terminate", "stop", "hibernate"].includes(spot.action as string)
    ) {
      throw new TypeError("scenario.spot.action: expected terminate, stop or hibernate");
    }
    checkString("scenario.spot.time", spot.time);
    checkDelay("scenario.spot.afterMs", spot.afterMs);
  }
  if (rebalance !== undefined) {
    if (!isRecord(rebalance)) throw new TypeError("scenario.rebalance: expected an object");
    checkString("scenario.rebalance.noticeTime", rebalance.noticeTime);
    checkDelay("scenario.rebalance.afterMs", rebalance.afterMs);
  }
  if (maintenance !== undefined) {
    if (!Array.isArray(maintenance)) throw new TypeError("scenario.maintenance: expected an array");
    maintenance.forEach((e, i) => {
      if (!isRecord(e)) throw new TypeError(`scenario.maintenance[${i}]: expected an object`);
      for (const field of ["Code", "Description", "State", "EventId", "NotBefore"]) {
        if (typeof e[field] !== "string") {
          throw new TypeError(`scenario.maintenance[${i}].${field}: expected a string`);
        }
      }
    });
  }
  checkString("scenario.lifecycleState", lifecycleState);
  return value as MockScenario;
}

function validateFault(value: unknown): MockFault | null {
  if (value === null) return null;
  if (!isRecord(value)) throw new TypeError("fault: expected a JSON object or null");
  if (value.status !== undefined && !Number.isInteger(value.status)) {
    throw new TypeError("fault.status: expected an HTTP status");
  }
  if (value.times !== undefined && !(Number.isInteger(value.times) && Number(value.times) > 0)) {
    throw new TypeError("fault.times: expected a positive integer");
  }
  if (value.path !== undefined && typeof value.path !== "string") {
    throw new TypeError("fault.path: expected a string");
  }
  if (value.body !== undefined && !HOSTILE_BODIES.includes(value.body as HostileBody)) {
    throw new TypeError(`fault.body: expected one of ${HOSTILE_BODIES.join(", ")}`);
  }
  if (value.redirect !== undefined && typeof value.redirect !== "string") {
    throw new TypeError("fault.redirect: expected a URL");
  }
  return value as MockFault;
}

function relativePath(path: string): string {
  return path.replace(/^\/+/, "").replace(/^latest\//, "");
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain", ...headers } });
}

function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(
    /[+/=]/g,
    (c) => ({ "+": "-", "/": "_", "=": "" })[c]!,
  );
}

/**
 * Start a mock IMDS on loopback. Close it when done so test sanitizers pass.
 *
 * @example
 * ```ts
 * const mock = startMockImds({ requireToken: true, scenario: { spot: { afterMs: 5_000 } } });
 * const imds = createImds({ endpoint: mock.url });
 * // ...
 * await mock.close();
 * ```
 */
export function startMockImds(options: MockImdsOptions = {}): MockImds {
  const now = options.now ?? Date.now;
  const identity = { ...DEFAULT_IDENTITY, ...options.identity };
  const tokens = new Map<string, number>();
  const requests: MockRequest[] = [];
  const hanging = new Set<() => void>();
  // Ends every hostile body still streaming when the mock closes.
  const closing = new AbortController();
  let scenario: MockScenario = options.scenario ?? {};
  let scenarioSetAt = now();
  let activeFault: { fault: MockFault; remaining: number } | null = null;

  function takeFault(path: string, method: string): MockFault | undefined {
    if (!activeFault) return undefined;
    const { fault } = activeFault;
    if (fault.path !== undefined && relativePath(fault.path) !== path) return undefined;
    const hostile = fault.body !== undefined || fault.redirect !== undefined;
    if (
      !fault.hang && !hostile && fault.status === undefined &&
      !(fault.malformed && method === "GET")
    ) {
      return undefined;
    }
    if (--activeFault.remaining <= 0) activeFault = null;
    return fault;
  }

  // Held until close(), even if the client gives up: Deno.serve's request.signal cannot tell
  // a disconnect from a delivered response, and close() releases every held request anyway.
  function hang(): Promise<Response> {
    return new Promise((resolve) => {
      const release = () => {
        hanging.delete(release);
        resolve(text(503, "mock IMDS closing\n"));
      };
      hanging.add(release);
    });
  }

  function metadata(path: string): Response {
    const elapsed = now() - scenarioSetAt;
    const { spot, rebalance, maintenance } = scenario;
    const simple: Record<string, string> = {
      "meta-data/instance-id": identity.instanceId,
      "meta-data/instance-type": identity.instanceType,
      "meta-data/placement/availability-zone": identity.availabilityZone,
      "meta-data/placement/region": identity.region,
      "meta-data/autoscaling/target-lifecycle-state": scenario.lifecycleState ?? "InService",
    };
    if (path in simple) return text(200, simple[path]);
    if (path === "meta-data/spot/instance-action" || path === "meta-data/spot/termination-time") {
      const after = spot?.afterMs ?? 0;
      if (!spot || elapsed < after) return text(404, "Not Found\n");
      // Fixed from the scenario, not the request time, so the notice keeps one identity.
      const time = spot.time ?? formatNoticeTime(new Date(scenarioSetAt + after + SPOT_WARNING_MS));
      if (path.endsWith("termination-time")) return text(200, time);
      return text(200, JSON.stringify({ action: spot.action ?? "terminate", time }));
    }
    if (path === "meta-data/events/recommendations/rebalance") {
      const after = rebalance?.afterMs ?? 0;
      if (!rebalance || elapsed < after) return text(404, "Not Found\n");
      const noticeTime = rebalance.noticeTime ?? formatNoticeTime(new Date(scenarioSetAt + after));
      return text(200, JSON.stringify({ noticeTime }));
    }
    if (path === "meta-data/events/maintenance/scheduled") {
      return maintenance ? text(200, JSON.stringify(maintenance)) : text(404, "Not Found\n");
    }
    return text(404, "Not Found\n");
  }

  function serve(req: Request, path: string): Response | Promise<Response> {
    const fault = takeFault(path, req.method);
    if (fault?.hang) return hang();
    if (fault?.status !== undefined) return text(fault.status, `mock IMDS fault ${fault.status}\n`);
    if (fault?.redirect !== undefined) {
      return text(307, "Temporary Redirect\n", { location: fault.redirect });
    }
    if (fault?.body !== undefined) return hostileResponse(fault.body, closing.signal);
    if (path === "api/token") {
      if (req.method !== "PUT") return text(405, "Method Not Allowed\n");
      const ttl = req.headers.get(TTL_HEADER) ?? "";
      const seconds = /^\d{1,5}$/.test(ttl) ? Number(ttl) : NaN;
      if (!(seconds >= 1 && seconds <= 21600)) return text(400, "Bad Request\n");
      const token = newToken();
      tokens.set(token, now() + seconds * 1000);
      return text(200, token, { [TTL_HEADER]: String(seconds) });
    }
    if (req.method !== "GET") return text(405, "Method Not Allowed\n");
    const token = req.headers.get(TOKEN_HEADER);
    if (token !== null) {
      // Like IMDS: an invalid token is refused even when IMDSv1 is allowed.
      const expiresAt = tokens.get(token);
      if (expiresAt === undefined || now() >= expiresAt) return text(401, "Unauthorized\n");
    } else if (options.requireToken) {
      return text(401, "Unauthorized\n");
    }
    if (fault?.malformed) return text(200, '{"action": "termin<html>');
    return metadata(path);
  }

  async function control(req: Request, path: string): Promise<Response> {
    const readJson = async () => JSON.parse(await req.text());
    try {
      if (req.method === "POST" && path === "/__scenario") {
        mock.setScenario(validateScenario(await readJson()));
        return new Response(null, { status: 204 });
      }
      if (req.method === "POST" && path === "/__expire-tokens") {
        mock.expireTokens();
        return new Response(null, { status: 204 });
      }
      if (req.method === "POST" && path === "/__fault") {
        mock.fault(validateFault(await readJson()));
        return new Response(null, { status: 204 });
      }
      if (req.method === "GET" && path === "/__requests") {
        return new Response(JSON.stringify(requests), {
          headers: { "content-type": "application/json" },
        });
      }
    } catch (err) {
      return text(400, `${err instanceof Error ? err.message : err}\n`);
    }
    return text(404, "Not Found\n");
  }

  const server = Deno.serve({
    port: options.port ?? 0,
    hostname: options.hostname ?? "127.0.0.1",
    onListen() {},
  }, async (req) => {
    const { pathname } = new URL(req.url);
    if (pathname.startsWith("/__")) return await control(req, pathname);
    const entry: MockRequest = {
      method: req.method,
      path: pathname,
      hadToken: req.headers.has(TOKEN_HEADER),
      status: 0,
    };
    requests.push(entry);
    options.onRequest?.(entry);
    const res = await serve(req, relativePath(pathname));
    entry.status = res.status;
    return res;
  });
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;

  const mock: MockImds = {
    url: `http://${host}:${server.addr.port}`,
    requests,
    setScenario(s) {
      scenario = s;
      scenarioSetAt = now();
    },
    expireTokens() {
      tokens.clear();
    },
    fault(f) {
      activeFault = f ? { fault: f, remaining: f.times ?? Infinity } : null;
    },
    async close() {
      activeFault = null;
      closing.abort();
      for (const release of [...hanging]) release();
      await server.shutdown();
    },
  };
  return mock;
}

const USAGE = `Usage: deno run --allow-net tools/mock_imds.ts [options]

A mock EC2 instance metadata service (AEMM formats) for local runs of the handler.
Point the handler at it with AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT.

Options:
  --port N                  port to listen on (default 1338; 0 picks a free one)
  --hostname HOST           address to bind (default 127.0.0.1)
  --require-token           IMDSv2 only: requests without a token get 401
  --spot-after SECONDS      serve a spot interruption notice after SECONDS
  --action ACTION           spot action: terminate (default), stop or hibernate
                            (alone: a notice right away)
  --rebalance-after SECONDS serve a rebalance recommendation after SECONDS
  --maintenance             list a scheduled system-reboot starting in one hour
  --lifecycle STATE         ASG target lifecycle state (default InService; try Terminated)
  --help                    show this help

Control endpoints: POST /__scenario, POST /__expire-tokens, POST /__fault, GET /__requests.
Stops on SIGINT or SIGTERM.`;

function seconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new TypeError(`--${flag}: expected seconds >= 0, got ${JSON.stringify(value)}`);
  }
  return n;
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseToolArgs({
      args,
      options: {
        port: { type: "string" },
        hostname: { type: "string" },
        "require-token": { type: "boolean" },
        "spot-after": { type: "string" },
        action: { type: "string" },
        "rebalance-after": { type: "string" },
        maintenance: { type: "boolean" },
        lifecycle: { type: "string" },
        help: { type: "boolean" },
      },
    }).values;
    if (parsed.help) {
      console.log(USAGE);
      return 0;
    }
    const port = Number(parsed.port ?? "1338");
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new TypeError(`--port: expected 0..65535, got ${JSON.stringify(parsed.port)}`);
    }
    const action = parsed.action ?? "terminate";
    if (!["terminate", "stop", "hibernate"].includes(action)) {
      throw new TypeError(`--action: expected terminate, stop or hibernate, got ${action}`);
    }
    // --action alone means "now": asking for an action and getting no notice would surprise.
    const spotAfter = seconds("spot-after", parsed["spot-after"]) ??
      (parsed.action !== undefined ? 0 : undefined);
    const rebalanceAfter = seconds("rebalance-after", parsed["rebalance-after"]);
    const scenario: MockScenario = {};
    if (spotAfter !== undefined) {
      scenario.spot = { action: action as "terminate", afterMs: spotAfter * 1000 };
    }
    if (rebalanceAfter !== undefined) scenario.rebalance = { afterMs: rebalanceAfter * 1000 };
    if (parsed.maintenance) scenario.maintenance = [sampleMaintenanceEvent(Date.now(), 3_600_000)];
    if (parsed.lifecycle !== undefined) scenario.lifecycleState = parsed.lifecycle;

    const mock = startMockImds({
      port,
      hostname: parsed.hostname,
      requireToken: parsed["require-token"],
      scenario,
    });
    const serves = [
      parsed["require-token"] ? "IMDSv2 only" : "IMDSv1 and IMDSv2",
      spotAfter !== undefined ? `spot ${action} after ${spotAfter} s` : "no spot notice",
      rebalanceAfter !== undefined ? `rebalance after ${rebalanceAfter} s` : "no rebalance",
      parsed.maintenance ? "a scheduled system-reboot in 1 h" : "no maintenance",
      `lifecycle ${scenario.lifecycleState ?? "InService"}`,
    ];
    console.log(`mock IMDS listening on ${mock.url}: ${serves.join(", ")}`);
    await untilSignal();
    await mock.close();
    return 0;
  } catch (err) {
    console.error(`mock_imds: ${err instanceof Error ? err.message : err}`);
    console.error("Try --help.");
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

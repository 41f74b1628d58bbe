/**
 * How the Kubernetes API stand-in answers a request: the path becomes a {@linkcode Route} and an
 * RBAC verb, the request is recorded, then authenticated, delayed, failed on purpose or handed to
 * the handler of its resource, which reads and changes the {@linkcode FakeStore}. Errors become
 * `Status` objects as the real API server sends them.
 *
 * @module
 */

import { discovery, isKnownResource } from "./fake_apiserver_discovery.ts";
import { type ApiRequestRecord, type FakeStore, type Obj, podKey } from "./fake_apiserver_store.ts";

/** A resource path: `/api/v1/...` (group `""`) or `/apis/<group>/<version>/...`. */
export interface Route {
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
}

/** How every request is served. */
export interface ServeOptions {
  /** Added before every response, to model a remote API server. */
  latencyMs: number;
  /** When set, every request must carry `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
}

/** One resource request, as its handler sees it. */
interface Call {
  store: FakeStore;
  route: Route;
  verb: string;
  query: URLSearchParams;
  /** The request body ("" for GET and HEAD). */
  text: string;
  contentType: string | null;
}

/** A handler answers the verbs it knows and returns undefined for the others. */
type Handler = (call: Call) => Response | undefined;

class HttpError extends Error {
  status: number;
  reason: string;
  details?: Obj;
  constructor(status: number, reason: string, message: string, details?: Obj) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.details = details;
  }
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
};

function notFound(message = "the server could not find the requested resource"): HttpError {
  return new HttpError(404, "NotFound", message);
}

function statusBody(status: number, reason: string, message: string, details?: Obj): Obj {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code: status,
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function isPlainObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readJson(text: string): Obj {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "BadRequest", "request body is not valid JSON");
  }
  if (!isPlainObject(body)) {
    throw new HttpError(400, "BadRequest", "request body must be a JSON object");
  }
  return body;
}

/**
 * The route of a resource path split into decoded segments; undefined for non-resource paths
 * (discovery, `/version`) and paths too long to be one.
 */
function parseRoute(segments: string[]): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === "api" && segments[1] === "v1") {
    group = "";
    version = "v1";
    rest = segments.slice(2);
  } else if (segments[0] === "apis" && segments.length >= 3) {
    group = segments[1];
    version = segments[2];
    rest = segments.slice(3);
  } else return undefined;
  if (rest.length === 0) return undefined;
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 3) return undefined;
  return { group, version, namespace, resource: rest[0], name: rest[1], subresource: rest[2] };
}

/** The RBAC verb the API server's authorizer checks for the request. */
function rbacVerb(method: string, route: Route, query: URLSearchParams): string {
  switch (method) {
    case "GET":
    case "HEAD": {
      if (route.name) return "get";
      const watch = query.get("watch");
      return watch === "true" || watch === "1" ? "watch" : "list";
    }
    case "POST":
      return "create";
    case "PATCH":
      return "patch";
    case "PUT":
      return "update";
    case "DELETE":
      return route.name ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Obj = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Strategic merge patch, as far as a Node needs it: a merge patch minus `$…` directives. None of
 * the Node fields the handler or kubectl patch has a merge strategy (`spec.taints` is replaced
 * whole: `kubectl taint` sends the complete new list), so lists are replaced.
 */
function strategicPatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Obj = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue;
    if (value === null) delete result[key];
    else result[key] = strategicPatch(result[key], value);
  }
  return result;
}

const NODE_PATCHES: Record<string, (target: unknown, patch: unknown) => unknown> = {
  "application/merge-patch+json": mergePatch,
  "application/strategic-merge-patch+json": strategicPatch,
};

type FieldFilter = (pod: Obj) => boolean;

const POD_FIELDS: Record<string, (p: Obj) => unknown> = {
  "spec.nodeName": (p) => (p.spec as Obj).nodeName,
  "metadata.name": (p) => (p.metadata as Obj).name,
  "metadata.namespace": (p) => (p.metadata as Obj).namespace,
  "status.phase": (p) => (p.status as Obj).phase,
};

function parseFieldSelector(selector: string | null): FieldFilter {
  if (!selector) return () => true;
  const tests: FieldFilter[] = [];
  for (const term of selector.split(",").filter((t) => t !== "")) {
    const m = /^([\w.]+)\s*(==|!=|=)\s*(.*)$/.exec(term);
    if (!m) {
      throw new HttpError(400, "BadRequest", `invalid field selector term "${term}"`);
    }
    const [, field, op, value] = m;
    const get = Object.hasOwn(POD_FIELDS, field) ? POD_FIELDS[field] : undefined;
    if (!get) {
      throw new HttpError(400, "BadRequest", `field label not supported: ${field}`);
    }
    tests.push(op === "!=" ? (p) => get(p) !== value : (p) => get(p) === value);
  }
  return (p) => tests.every((t) => t(p));
}

function getPod(store: FakeStore, route: Route): [string, Obj] {
  if (!route.namespace || !route.name) throw notFound();
  const key = podKey(route.namespace, route.name);
  const pod = store.pods.get(key);
  if (!pod) {
    throw new HttpError(404, "NotFound", `pods "${route.name}" not found`, {
      name: route.name,
      kind: "pods",
    });
  }
  return [key, pod];
}

function patchNode(call: Call, node: Obj): Obj {
  const type = (call.contentType ?? "").split(";")[0].trim();
  const patch = Object.hasOwn(NODE_PATCHES, type) ? NODE_PATCHES[type] : undefined;
  if (!patch) {
    throw new HttpError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got "${type}")`,
    );
  }
  const next = patch(node, readJson(call.text)) as Obj;
  (next.metadata as Obj).name = call.route.name;
  (next.metadata as Obj).resourceVersion = call.store.nextVersion();
  call.store.nodes.set(call.route.name!, next);
  return next;
}

function nodes(call: Call): Response | undefined {
  const { store, route, verb } = call;
  if (route.namespace) return undefined;
  if (verb === "list") {
    return json(200, {
      kind: "NodeList",
      apiVersion: "v1",
      metadata: { resourceVersion: store.resourceVersion },
      items: [...store.nodes.values()],
    });
  }
  const node = route.name ? store.nodes.get(route.name) : undefined;
  if (!node) {
    throw new HttpError(404, "NotFound", `nodes "${route.name}" not found`, {
      name: route.name,
      kind: "nodes",
    });
  }
  if (verb === "get") return json(200, node);
  if (verb === "patch") return json(200, patchNode(call, node));
  return undefined;
}

/** The grace period of a delete: the DeleteOptions body wins over the query parameter. */
function deleteGrace(call: Call): number | undefined {
  let grace = call.query.has("gracePeriodSeconds")
    ? Number(call.query.get("gracePeriodSeconds"))
    : undefined;
  if (call.text.trim() === "") return grace;
  try {
    const body = JSON.parse(call.text) as Obj;
    if (typeof body.gracePeriodSeconds === "number") grace = body.gracePeriodSeconds;
  } catch {
    throw new HttpError(400, "BadRequest", "request body is not valid JSON");
  }
  return grace;
}

function pods(call: Call): Response | undefined {
  const { store, route, verb } = call;
  if (verb === "list") {
    const filter = parseFieldSelector(call.query.get("fieldSelector"));
    const items = [...store.pods.values()].filter((p) =>
      (!route.namespace || (p.metadata as Obj).namespace === route.namespace) && filter(p)
    );
    return json(200, {
      kind: "PodList",
      apiVersion: "v1",
      metadata: { resourceVersion: store.resourceVersion },
      items,
    });
  }
  if (verb === "get") return json(200, getPod(store, route)[1]);
  if (verb === "delete") {
    const [key, pod] = getPod(store, route);
    store.terminate(key, pod, deleteGrace(call));
    return json(200, pod);
  }
  return undefined;
}

function checkEvictionBody(body: Obj, route: Route): void {
  const meta = isPlainObject(body.metadata) ? body.metadata : {};
  if (meta.name !== undefined && meta.name !== route.name) {
    throw new HttpError(
      400,
      "BadRequest",
      `name in URL does not match name in Eviction object (${String(meta.name)})`,
    );
  }
  if (body.kind !== undefined && body.kind !== "Eviction") {
    throw new HttpError(400, "BadRequest", `expected kind Eviction, got ${String(body.kind)}`);
  }
}

/** A pod its budget still guards is refused with 429, as the eviction API does. */
function checkBudget(store: FakeStore, key: string, pod: Obj, route: Route): void {
  const left = store.pdbBlocks.get(key) ?? 0;
  const metadata = pod.metadata as Obj;
  if (left <= 0 || metadata.deletionTimestamp) return;
  store.pdbBlocks.set(key, left - 1);
  const budget = metadata.labels ? (metadata.labels as Obj).app : route.name;
  throw new HttpError(
    429,
    "TooManyRequests",
    "Cannot evict pod as it would violate the pod's disruption budget.",
    {
      causes: [{
        reason: "DisruptionBudget",
        message: `The disruption budget ${budget} needs 1 healthy pods and has 1 currently`,
      }],
    },
  );
}

function eviction(call: Call): Response | undefined {
  if (call.verb !== "create") return undefined;
  const { store, route } = call;
  const [key, pod] = getPod(store, route);
  const body = readJson(call.text);
  checkEvictionBody(body, route);
  checkBudget(store, key, pod, route);
  const options = isPlainObject(body.deleteOptions) ? body.deleteOptions : {};
  const grace = typeof options.gracePeriodSeconds === "number"
    ? options.gracePeriodSeconds
    : undefined;
  store.terminate(key, pod, grace);
  return json(201, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    code: 201,
  });
}

/** A DaemonSet exists as far as one of the stored pods names it as its owner. */
function daemonSet(call: Call): Response | undefined {
  const { store, route } = call;
  if (call.verb !== "get" || !route.namespace || !route.name) return undefined;
  const owner = [...store.pods.values()].find((p) => {
    const m = p.metadata as Obj;
    const refs = (m.ownerReferences ?? []) as Obj[];
    return m.namespace === route.namespace &&
      refs.some((o) => o.kind === "DaemonSet" && o.name === route.name);
  });
  if (!owner) throw notFound(`daemonsets.apps "${route.name}" not found`);
  return json(200, {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: route.name, namespace: route.namespace, uid: crypto.randomUUID() },
    spec: { selector: { matchLabels: { app: route.name } } },
    status: {},
  });
}

function createEvent(call: Call): Response {
  const body = readJson(call.text);
  const namespace = call.route.namespace;
  const meta: Obj = isPlainObject(body.metadata) ? { ...body.metadata } : {};
  if (!meta.name) {
    if (!meta.generateName) {
      throw new HttpError(422, "Invalid", "Event.metadata.name: Required value");
    }
    meta.name = `${meta.generateName}${crypto.randomUUID().slice(0, 5)}`;
  }
  if (meta.namespace !== undefined && meta.namespace !== namespace) {
    throw new HttpError(
      400,
      "BadRequest",
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  }
  const event: Obj = {
    ...body,
    metadata: {
      ...meta,
      namespace,
      uid: crypto.randomUUID(),
      resourceVersion: call.store.nextVersion(),
      creationTimestamp: new Date().toISOString(),
    },
  };
  call.store.events.push(event);
  return json(201, event);
}

/** core/v1 and events.k8s.io/v1 events share one store. */
function events(call: Call): Response | undefined {
  const { store, route, verb } = call;
  if (!route.namespace) return undefined;
  if (verb === "create") return createEvent(call);
  if (verb === "list") {
    return json(200, {
      kind: "EventList",
      apiVersion: route.group ? `${route.group}/${route.version}` : "v1",
      metadata: {},
      items: store.events.filter((e) => (e.metadata as Obj).namespace === route.namespace),
    });
  }
  const at = store.events.findIndex((e) => {
    const m = e.metadata as Obj;
    return m.namespace === route.namespace && m.name === route.name;
  });
  if (at < 0) throw notFound(`events "${route.name}" not found`);
  if (verb === "get") return json(200, store.events[at]);
  if (verb === "patch") {
    store.events[at] = mergePatch(store.events[at], readJson(call.text)) as Obj;
    return json(200, store.events[at]);
  }
  return undefined;
}

function namespace(call: Call): Response | undefined {
  if (call.verb !== "get" || !call.route.name) return undefined;
  return json(200, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: call.route.name },
    status: { phase: "Active" },
  });
}

/**
 * Answer a SelfSubjectAccessReview the way the injected failures will: a verb whose requests
 * are set to fail with 403 for good (`times: Infinity`) is denied, everything else allowed.
 */
function accessReview(call: Call): Response | undefined {
  if (call.verb !== "create") return undefined;
  const review = readJson(call.text);
  const attrs = ((review.spec as Obj | undefined)?.resourceAttributes ?? {}) as Obj;
  const denied = call.store.deniedForGood(attrs.verb, attrs.resource, attrs.subresource);
  return json(201, {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    spec: review.spec ?? {},
    status: denied
      ? { allowed: false, reason: "injected 403 for this verb" }
      : { allowed: true, reason: "stand-in allows it" },
  });
}

/** Handlers by `<group>/<resource>[/<subresource>]`. */
const HANDLERS = new Map<string, Handler>([
  ["authorization.k8s.io/selfsubjectaccessreviews", accessReview],
  ["/nodes", nodes],
  ["/pods", pods],
  ["/pods/eviction", eviction],
  ["apps/daemonsets", daemonSet],
  ["/events", events],
  ["events.k8s.io/events", events],
  ["/namespaces", namespace],
]);

function handleResource(call: Call): Response {
  const { route, verb } = call;
  const full = route.subresource ? `${route.resource}/${route.subresource}` : route.resource;
  const key = `${route.group}/${full}`;
  const response = HANDLERS.get(key)?.(call);
  if (response) return response;
  if (!isKnownResource(route.group, route.version, full)) throw notFound();
  throw new HttpError(
    405,
    "MethodNotAllowed",
    `${verb} is not supported on ${key.replace(/^\//, "")} by this stand-in`,
  );
}

/** The request as recorded before it is answered; `status` and `at` are filled in after. */
function requestRecord(req: Request, url: URL, route: Route | undefined): ApiRequestRecord {
  const record: ApiRequestRecord = {
    method: req.method,
    path: url.pathname + url.search,
    verb: route ? rbacVerb(req.method, route, url.searchParams) : req.method.toLowerCase(),
    group: route?.group ?? "",
    resource: route?.resource ?? "",
    status: 0,
    at: 0,
  };
  if (route) {
    if (route.subresource) record.subresource = route.subresource;
    if (route.namespace) record.namespace = route.namespace;
    if (route.name) record.name = route.name;
  } else record.nonResource = true;
  return record;
}

/** A request past its body: what {@linkcode respond} needs. */
interface Incoming {
  req: Request;
  url: URL;
  segments: string[];
  route: Route | undefined;
  record: ApiRequestRecord;
  text: string;
}

async function respond(store: FakeStore, options: ServeOptions, at: Incoming): Promise<Response> {
  if (options.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
  const token = options.token;
  if (token !== undefined && at.req.headers.get("authorization") !== `Bearer ${token}`) {
    throw new HttpError(401, "Unauthorized", "Unauthorized");
  }
  const { route, record } = at;
  if (!route) {
    const doc = at.req.method === "GET"
      ? discovery(at.segments, at.url.host, store.startedAt)
      : undefined;
    if (!doc) throw notFound();
    return json(200, doc);
  }
  const failure = store.takeFailure(record.verb, route);
  if (failure) {
    throw new HttpError(
      failure.status,
      REASONS[failure.status] ?? "Unknown",
      failure.message ?? `injected failure ${failure.status} for ${record.verb} ${route.resource}`,
    );
  }
  return handleResource({
    store,
    route,
    verb: record.verb,
    query: at.url.searchParams,
    text: at.text,
    contentType: at.req.headers.get("content-type"),
  });
}

function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) {
    return json(error.status, statusBody(error.status, error.reason, error.message, error.details));
  }
  return json(500, statusBody(500, "InternalError", String(error)));
}

/**
 * Answer one request against `store` and append it, with the status sent, to `store.requests`.
 *
 * @example
 * ```ts
 * const store = new FakeStore({ nodes: ["node-a"] });
 * Deno.serve((req) => handleRequest(store, { latencyMs: 0 }, req));
 * ```
 */
export async function handleRequest(
  store: FakeStore,
  options: ServeOptions,
  req: Request,
): Promise<Response> {
  const url = new URL(req.url);
  const segments = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
  const route = parseRoute(segments);
  const record = requestRecord(req, url, route);
  const text = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
  if (text !== "") {
    record.body = text;
    const type = req.headers.get("content-type");
    if (type) record.contentType = type;
  }
  let response: Response;
  try {
    response = await respond(store, options, { req, url, segments, route, record, text });
  } catch (error) {
    response = errorResponse(error);
  }
  record.status = response.status;
  record.at = Date.now();
  store.requests.push(record);
  return response;
}

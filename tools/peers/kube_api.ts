/**
 * A minimal Kubernetes REST client over `fetch`, for setting up and inspecting the real API
 * server of the end-to-end peers. Deliberately not `@kubernetes/client-node`: the suite checks the
 * handler's effects through a different code path than the one the handler uses.
 *
 * @module
 */

/** Options of {@linkcode createKubeApi}. */
export interface KubeApiOptions {
  /** PEM of the CA that signed the API server's serving certificate. */
  caPem: string;
  /** Per-request bound; defaults to 10 s. */
  timeoutMs?: number;
}

/** An HTTP error from the API server, with its status for callers that expect some (404, 409). */
export class KubeApiError extends Error {
  /** HTTP status code. */
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = "KubeApiError";
    this.status = status;
  }
}

/** What the suite needs from the API server. Paths start with `/api` or `/apis`. */
export interface KubeApi {
  /** Base URL, e.g. `https://127.0.0.1:6443`. */
  readonly url: string;
  /** GET a resource; `undefined` when it does not exist (404). */
  get<T = Record<string, unknown>>(path: string): Promise<T | undefined>;
  /** POST a new object to a collection path. */
  create<T = Record<string, unknown>>(path: string, body: unknown): Promise<T>;
  /** POST, treating 409 AlreadyExists as success (returns `undefined` then). */
  ensure(path: string, body: unknown): Promise<void>;
  /** JSON merge patch of a resource (or a subresource such as `/status`). */
  patch<T = Record<string, unknown>>(path: string, body: unknown): Promise<T>;
  /** DELETE a resource; a missing one is fine. */
  remove(path: string): Promise<void>;
  /** Release the HTTP client. */
  close(): void;
}

/**
 * Create a client that authenticates with a bearer token and trusts only the given CA.
 *
 * @example
 * ```ts
 * const api = createKubeApi("https://127.0.0.1:6443", token, { caPem });
 * const node = await api.get("/api/v1/nodes/e2e-node");
 * api.close();
 * ```
 */
export function createKubeApi(url: string, token: string, options: KubeApiOptions): KubeApi {
  const client = Deno.createHttpClient({ caCerts: [options.caPem] });
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function send(
    method: string,
    path: string,
    init: { body?: unknown; contentType?: string } = {},
  ): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: "application/json",
    };
    if (init.body !== undefined) headers["content-type"] = init.contentType ?? "application/json";
    const response = await fetch(url + path, {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      client,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let body: Record<string, unknown> | undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = { message: text.slice(0, 200) };
    }
    return { status: response.status, body };
  }

  function fail(method: string, path: string, status: number, body: unknown): never {
    const message = (body as { message?: string } | undefined)?.message ?? "";
    throw new KubeApiError(`${method} ${path}: HTTP ${status} ${message}`.trim(), status);
  }

  return {
    url,
    async get<T>(path: string): Promise<T | undefined> {
      const { status, body } = await send("GET", path);
      if (status === 404) return undefined;
      if (status >= 300) fail("GET", path, status, body);
      return body as T;
    },
    async create<T>(path: string, body: unknown): Promise<T> {
      const res = await send("POST", path, { body });
      if (res.status >= 300) fail("POST", path, res.status, res.body);
      return res.body as T;
    },
    async ensure(path: string, body: unknown): Promise<void> {
      const res = await send("POST", path, { body });
      if (res.status >= 300 && res.status !== 409) fail("POST", path, res.status, res.body);
    },
    async patch<T>(path: string, body: unknown): Promise<T> {
      const res = await send("PATCH", path, {
        body,
        contentType: "application/merge-patch+json",
      });
      if (res.status >= 300) fail("PATCH", path, res.status, res.body);
      return res.body as T;
    },
    async remove(path: string): Promise<void> {
      const res = await send("DELETE", path);
      if (res.status >= 300 && res.status !== 404) fail("DELETE", path, res.status, res.body);
    },
    close(): void {
      client.close();
    },
  };
}

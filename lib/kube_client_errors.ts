/**
 * `@kubernetes/client-node`'s failures as the handler's `KubeError`: the API's Status message (with
 * a PodDisruptionBudget's cause), the transport's error, and a kubeconfig that cannot be loaded,
 * without its contents.
 *
 * @module
 */

import { HTTP_REASONS, kindOfStatus, KubeError } from "./kube_errors.ts";

type Obj = Record<string, unknown>;

/** The parts of client-node's ApiException we use; matched structurally to keep the import lazy. */
interface ApiExceptionLike {
  code: number;
  body?: unknown;
}

export function isApiException(error: unknown): error is ApiExceptionLike {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "number" &&
    "body" in error;
}

/** The Status object's message, with a PodDisruptionBudget's cause appended when present. */
function statusMessage(body: unknown): string {
  let status: unknown = body;
  if (typeof body === "string") {
    try {
      status = JSON.parse(body);
    } catch {
      return body.trim().slice(0, 300);
    }
  }
  if (typeof status !== "object" || status === null) return "";
  const s = status as Obj;
  const message = typeof s.message === "string" ? s.message : "";
  const details = s.details as Obj | undefined;
  const causes = Array.isArray(details?.causes) ? details.causes as Obj[] : [];
  const extra = causes.map((c) => c.message).filter((m): m is string =>
    typeof m === "string" && m !== "" && !message.includes(m)
  );
  return extra.length > 0 ? `${message} (${extra.join("; ")})` : message;
}

/** `403 Forbidden: <message>` for an API error, the transport error's text otherwise. */
export function describeError(error: unknown): { status?: number; text: string } {
  if (isApiException(error)) {
    const message = statusMessage(error.body);
    const head = `${error.code} ${HTTP_REASONS[error.code] ?? "Error"}`;
    return { status: error.code, text: message ? `${head}: ${message}` : head };
  }
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    if (error.name === "TimeoutError" || error.name === "AbortError") {
      return { text: `request timed out${cause}` };
    }
    return { text: `${error.message}${cause}` };
  }
  return { text: String(error) };
}

export function kubeError(what: string, error: unknown): KubeError {
  const { status, text } = describeError(error);
  return new KubeError(`${what}: ${text}`, {
    status,
    cause: error,
    kind: kindOfStatus(status, text),
  });
}

/**
 * Why a kubeconfig could not be loaded, without its contents: YAML parsers quote the lines
 * around a syntax error, and those lines may hold a bearer token or a key.
 */
export function configErrorText(error: unknown): string {
  const e = error as { name?: string; code?: string; reason?: string; mark?: { line?: number } };
  if (e?.code === "ENOENT" || e?.name === "NotFound") return "file not found";
  if (e?.code === "EACCES" || e?.name === "PermissionDenied") return "permission denied";
  if (e?.name === "YAMLException") {
    const line = typeof e.mark?.line === "number" ? ` on line ${e.mark.line + 1}` : "";
    return `malformed YAML${line}${e.reason ? ` (${e.reason})` : ""}`;
  }
  return `${e?.name ?? "Error"} (contents not shown)`;
}

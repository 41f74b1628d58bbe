/**
 * Secret hygiene for anything printed: URLs may carry credentials in their user-info
 * (`https://user:pass@host`), and operators paste such URLs into IMDS, notice and webhook
 * settings. Every log line, error message and metric label that shows a URL goes through here.
 *
 * @module
 */

const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@"'<>]*@)/gi;

/**
 * A URL as it may be printed: user-info replaced by `***`; everything else unchanged. Text that
 * is not a URL is returned with any embedded `scheme://user@` user-info removed the same way.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./redact.ts";
 * redactUrl("http://admin:s3cret@169.254.169.254/latest"); // "http://***@169.254.169.254/latest"
 * ```
 */
export function redactUrl(url: string): string {
  return redactUserInfo(url);
}

/**
 * Remove the user-info of every URL inside free text (error messages quote URLs).
 *
 * @example
 * ```ts
 * import { redactUserInfo } from "./redact.ts";
 * redactUserInfo("fetch http://u:p@host/x failed"); // "fetch http://***@host/x failed"
 * ```
 */
export function redactUserInfo(text: string): string {
  return text.replace(URL_IN_TEXT, "$1***@");
}

/**
 * What counts as an e-mail address here, shared by the notifier's variable checks and the SMTP
 * client, so a value config accepts is one the client sends.
 *
 * @module
 */

/**
 * A bare address (`a@example.com`): no spaces, angle brackets, quotes, commas or semicolons,
 * which would let a value smuggle a second recipient or an SMTP command.
 *
 * @example
 * ```ts
 * import { isEmailAddress } from "./email_address.ts";
 *
 * isEmailAddress("ops@example.com"); // true
 * isEmailAddress("ops@example.com, evil@example.net"); // false
 * ```
 */
export function isEmailAddress(value: string): boolean {
  return ADDRESS.test(value);
}

const ADDRESS = /^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+$/;

/**
 * The old script's `INSTANCE_ID_URL`, `INSTANCE_TYPE_URL` and `AZ_URL`: full URLs it read the
 * instance's identity from. They are honoured rather than refused: a copied manifest that sets
 * them (to their defaults, or to a proxy or mock) keeps working, and honouring costs little since
 * the IMDS client already GETs absolute URLs (as for `NOTICE_URL`) and sends its IMDSv2 token only
 * to the IMDS endpoint's own origin. Fields without a URL come from IMDS as usual.
 *
 * @module
 */

import { type Identity, type Imds, regionFromAvailabilityZone } from "./imds.ts";

/** Full URLs for identity fields; each absent one is read from IMDS. */
export interface IdentityUrls {
  instanceId?: string;
  instanceType?: string;
  availabilityZone?: string;
}

/**
 * An identity lookup that reads each field from its URL when one is set, else from IMDS; cached
 * after the first success, like {@linkcode Imds.identity}.
 *
 * @example
 * ```ts
 * declare const imds: import("./imds.ts").Imds;
 * const identity = identityWithUrls(imds, { availabilityZone: "http://proxy.local/az" });
 * (await identity()).availabilityZone;
 * ```
 */
export function identityWithUrls(
  imds: Pick<Imds, "get" | "identity">,
  urls: IdentityUrls,
): (options?: { signal?: AbortSignal }) => Promise<Identity> {
  if (!urls.instanceId && !urls.instanceType && !urls.availabilityZone) {
    return (options) => imds.identity(options);
  }
  let cached: Identity | undefined;
  return async (options) => {
    if (cached) return cached;
    const read = async (url: string | undefined, path: string): Promise<string> => {
      const res = await imds.get(url ?? `meta-data/${path}`, options);
      const value = res.status === 200 ? res.body.trim() : "";
      if (!value) throw new Error(`${url ?? `IMDS meta-data/${path}`}: no value (${res.status})`);
      return value;
    };
    const [instanceId, instanceType, availabilityZone] = await Promise.all([
      read(urls.instanceId, "instance-id"),
      read(urls.instanceType, "instance-type"),
      read(urls.availabilityZone, "placement/availability-zone"),
    ]);
    return cached = {
      instanceId,
      instanceType,
      availabilityZone,
      region: regionFromAvailabilityZone(availabilityZone),
    };
  };
}

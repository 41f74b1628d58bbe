/**
 * The discovery documents of the Kubernetes API stand-in (`/version`, `/api`, `/apis`, and each
 * group version's resource list): what `kubectl drain` and `kubectl taint` read before they act.
 *
 * @module
 */

import type { Obj } from "./fake_apiserver_store.ts";

const API_GROUPS: Record<string, string[]> = {
  policy: ["v1"],
  "events.k8s.io": ["v1"],
  apps: ["v1"],
};

function resourceEntry(
  name: string,
  kind: string,
  namespaced: boolean,
  verbs: string[],
  extra: Obj = {},
): Obj {
  return { name, singularName: "", namespaced, kind, verbs, ...extra };
}

/** The resources each group version serves, keyed `/v1` for core and `group/version` otherwise. */
const RESOURCES: Record<string, Obj[]> = {
  "/v1": [
    resourceEntry("nodes", "Node", false, ["get", "list", "patch", "update", "watch"], {
      shortNames: ["no"],
    }),
    resourceEntry("pods", "Pod", true, ["delete", "get", "list", "patch", "watch"], {
      shortNames: ["po"],
      categories: ["all"],
    }),
    resourceEntry("pods/eviction", "Eviction", true, ["create"], {
      group: "policy",
      version: "v1",
    }),
    resourceEntry("events", "Event", true, ["create", "get", "list", "patch"], {
      shortNames: ["ev"],
    }),
    resourceEntry("namespaces", "Namespace", false, ["get", "list"], { shortNames: ["ns"] }),
  ],
  "policy/v1": [
    resourceEntry("poddisruptionbudgets", "PodDisruptionBudget", true, ["get", "list"], {
      shortNames: ["pdb"],
    }),
  ],
  "events.k8s.io/v1": [
    resourceEntry("events", "Event", true, ["create", "get", "list", "patch"], {
      shortNames: ["ev"],
    }),
  ],
  "apps/v1": [
    resourceEntry("daemonsets", "DaemonSet", true, ["get", "list"], { shortNames: ["ds"] }),
  ],
};

/**
 * Whether discovery lists `resource` (with `/subresource`, e.g. `pods/eviction`) in the group
 * version: a known resource without a handler for the verb answers 405, an unknown one 404.
 */
export function isKnownResource(group: string, version: string, resource: string): boolean {
  const known = RESOURCES[group ? `${group}/${version}` : "/v1"] ?? [];
  return known.some((k) => k.name === resource);
}

function versionInfo(startedAt: string): Obj {
  return {
    major: "1",
    minor: "32",
    gitVersion: "v1.32.0-fake",
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: startedAt,
    goVersion: "go1.23.0",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

function groupList(): Obj {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: Object.entries(API_GROUPS).map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  };
}

function resourceList(segments: string[]): Obj | undefined {
  const path = segments.join("/");
  const key = path === "api/v1" ? "/v1" : path.startsWith("apis/") ? path.slice(5) : "";
  const resources = RESOURCES[key];
  if (!resources || segments.length !== (key === "/v1" ? 2 : 3)) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: key === "/v1" ? "v1" : key,
    resources,
  };
}

/**
 * The discovery document at the path `segments` (already split and decoded), or undefined when
 * there is none. `host` is the address clients reached the stand-in at.
 */
export function discovery(segments: string[], host: string, startedAt: string): Obj | undefined {
  const path = segments.join("/");
  if (path === "version") return versionInfo(startedAt);
  if (path === "api") {
    return {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: host }],
    };
  }
  if (path === "apis") return groupList();
  return resourceList(segments);
}

/**
 * Friendly names people type, beside the names the descriptors give (kind, its message's name and
 * their plurals). Only words the API does not already use belong here.
 */
export const KIND_ALIASES: Readonly<Record<string, readonly string[]>> = {
  "edge-data-center": ["site", "sites", "edc"],
  "compute-pool": ["pool", "pools"],
  "join-token": ["token", "tokens"],
  "user-group": ["group", "groups"],
  "audit-log": ["audit"],
};

import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { kebabCase } from "./kebab-case.js";
import { KIND_ALIASES } from "./kind-aliases.js";

/** A verb a kind has beyond the standard methods, e.g. `image deprecate` (DeprecateImage). */
export interface KindVerb {
  readonly name: string;
  readonly method: DescMethod;
}

/** One kind of resource, found in the descriptors from its methods (AIP-style names). */
export interface ResourceKind {
  /** The CLI name: kebab-case of the method noun, e.g. "join-token". */
  readonly name: string;
  /** The method noun, e.g. "JoinToken" (GetJoinToken, ListJoinTokens…). */
  readonly noun: string;
  readonly aliases: readonly string[];
  readonly service: DescService;
  /** The resource message (what Get returns, what List lists). */
  readonly resource: DescMessage;
  readonly get?: DescMethod;
  readonly list?: DescMethod;
  readonly create?: DescMethod;
  readonly update?: DescMethod;
  readonly delete?: DescMethod;
  readonly verbs: readonly KindVerb[];
}

type Standard = "get" | "list" | "create" | "update" | "delete";
const STANDARD: Record<string, Standard> = {
  Get: "get",
  List: "list",
  Create: "create",
  Update: "update",
  Delete: "delete",
};

interface Draft {
  nouns: Map<Standard, string>;
  resource: DescMessage;
  service: DescService;
  methods: Partial<Record<Standard, DescMethod>>;
  verbs: KindVerb[];
}

/** The message a method is about: the repeated message of a List, else the first message field of its response. */
function resourceOf(method: DescMethod, standard: Standard | undefined): DescMessage | undefined {
  const fields = method.output.fields;
  if (standard === "list")
    return fields.find((f) => f.fieldKind === "list" && f.listKind === "message")?.message as DescMessage | undefined;
  const field = fields.find((f) => f.fieldKind === "message" && !f.message.typeName.startsWith("google.protobuf."));
  return field?.fieldKind === "message" ? field.message : undefined;
}

function singular(plural: string): string {
  if (plural.endsWith("ies")) return plural.slice(0, -3) + "y";
  if (/(ss|x|ch|sh)es$/.test(plural)) return plural.slice(0, -2);
  if (plural.endsWith("s") && !plural.endsWith("ss")) return plural.slice(0, -1);
  return plural;
}

function pluralOf(word: string): string {
  if (/(requirements|s)$/i.test(word) && !/ss$/.test(word)) return word;
  if (/[^aeiou]y$/.test(word)) return word.slice(0, -1) + "ies";
  if (/(s|x|ch|sh)$/.test(word)) return word + "es";
  return word + "s";
}

/**
 * Builds the kinds of the admin API from its services: a kind is a resource message with at least a
 * Get, List, Create or Delete; every other method naming it (DeprecateImage, RevokeAgent,
 * SetUserPassword) is one of its verbs. Methods that belong to no kind stay reachable with `call`.
 */
export function resourceKinds(services: readonly DescService[]): ResourceKind[] {
  const drafts = new Map<string, Draft>();
  const rest: { service: DescService; method: DescMethod }[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary") continue;
      const m = /^(Get|List|Create|Update|Delete)([A-Z]\w*)$/.exec(method.name);
      const standard = m ? STANDARD[m[1]!] : undefined;
      const resource = standard && standard !== "delete" ? resourceOf(method, standard) : undefined;
      const noun = m ? (standard === "list" ? singular(m[2]!) : m[2]!) : "";
      if (
        !standard ||
        standard === "delete" ||
        !resource ||
        (standard !== "list" && resource.name !== noun && standard !== "get" && standard !== "create")
      ) {
        rest.push({ service, method });
        continue;
      }
      const draft: Draft = drafts.get(resource.typeName) ?? {
        nouns: new Map(),
        resource,
        service,
        methods: {},
        verbs: [],
      };
      drafts.set(resource.typeName, draft);
      if (draft.methods[standard]) {
        rest.push({ service, method });
        continue;
      }
      draft.methods[standard] = method;
      draft.nouns.set(standard, noun);
    }
  }
  const nounOf = (d: Draft) =>
    d.nouns.get("get") ?? d.nouns.get("create") ?? d.nouns.get("update") ?? d.nouns.get("list") ?? d.resource.name;
  const all = [...drafts.values()];
  const byNoun = all
    .flatMap((d) => [...new Set([nounOf(d), d.resource.name, ...d.nouns.values()])].map((noun) => ({ noun, draft: d })))
    .sort((a, b) => b.noun.length - a.noun.length);
  for (const { service, method } of rest) {
    // A verb of another service still belongs to the kind when it answers with the kind's resource
    // (InfrastructureService.StartEdgeDataCenterMaintenance for the kind FleetService creates).
    const match =
      byNoun.find(({ noun, draft }) => draft.service === service && method.name.includes(noun)) ??
      byNoun.find(({ noun, draft }) => method.name.includes(noun) && resourceOf(method, undefined) === draft.resource);
    if (match) {
      if (/^Delete/.test(method.name) && method.name === `Delete${match.noun}` && !match.draft.methods.delete) {
        match.draft.methods.delete = method;
        continue;
      }
      let verb = method.name.replace(pluralOf(match.noun), "").replace(match.noun, "");
      if (!verb) continue;
      match.draft.verbs.push({ name: kebabCase(verb), method });
      continue;
    }
    const owner = all.find((d) => d.service === service && resourceOf(method, undefined) === d.resource);
    if (owner) owner.verbs.push({ name: kebabCase(method.name), method });
  }
  return all
    .map((d): ResourceKind => {
      const name = kebabCase(nounOf(d));
      const aliases = new Set([
        pluralOf(name),
        kebabCase(d.resource.name),
        pluralOf(kebabCase(d.resource.name)),
        ...(KIND_ALIASES[name] ?? []),
      ]);
      aliases.delete(name);
      return {
        name,
        noun: nounOf(d),
        aliases: [...aliases],
        service: d.service,
        resource: d.resource,
        ...d.methods,
        verbs: d.verbs,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The kind called `word` (its name or an alias), if any. */
export function findKind(kinds: readonly ResourceKind[], word: string): ResourceKind | undefined {
  const w = word.toLowerCase();
  return kinds.find((k) => k.name === w) ?? kinds.find((k) => k.aliases.includes(w));
}

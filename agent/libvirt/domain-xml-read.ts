import { EDGEHUB_METADATA_NS } from "./domain-xml.js";

/** What the agent reads back from a domain's live XML (virDomainGetXMLDesc). */
export interface DomainXmlFacts {
  graphics: { type: string; listen: string; port: number; autoport: boolean } | undefined;
  serialLogPath: string;
  overlayPath: string;
  instanceId: string;
}

function unescape(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_, ent: string) => {
    if (ent[0] === "#")
      return String.fromCodePoint(ent[1] === "x" || ent[1] === "X" ? parseInt(ent.slice(2), 16) : Number(ent.slice(1)));
    return { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }[ent.toLowerCase()]!;
  });
}

/** The attributes of one start tag, e.g. `<graphics type='vnc' port='5900'>`. */
function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:.-]+)\s*=\s*(?:'([^']*)'|"([^"]*)")/g)) out[m[1]!] = unescape(m[2] ?? m[3] ?? "");
  return out;
}

/** The first element named `name` (its start tag and, when not empty, its body). */
function element(xml: string, name: string, where?: (attrs: Record<string, string>) => boolean) {
  const re = new RegExp(`<${name}(\\s[^>]*?)?(/>|>([\\s\\S]*?)</${name}>)`, "g");
  for (const m of xml.matchAll(re)) {
    const attrs = attributes(m[1] ?? "");
    if (!where || where(attrs)) return { attrs, body: m[3] ?? "" };
  }
  return undefined;
}

/**
 * Reads libvirt's own serialisation of a domain (the format it writes, not arbitrary XML): the
 * console endpoint, the serial log, the system disk and edgehub's metadata.
 */
export function readDomainXml(xml: string): DomainXmlFacts {
  const g = element(xml, "graphics");
  const listenChild = g ? element(g.body, "listen", (a) => a.type === "address") : undefined;
  const serial = element(xml, "serial", (a) => a.type === "file");
  const disk = element(xml, "disk", (a) => a.device === "disk");
  const meta = element(xml, "metadata");
  let instanceId = "";
  if (meta) {
    for (const m of meta.body.matchAll(/<([\w.-]+:)?instance\s[^>]*>/g)) {
      const a = attributes(m[0]);
      if (Object.entries(a).some(([k, v]) => k.startsWith("xmlns") && v === EDGEHUB_METADATA_NS)) {
        instanceId = a.id ?? "";
        break;
      }
    }
  }
  return {
    graphics: g
      ? {
          type: g.attrs.type ?? "",
          listen: g.attrs.listen ?? listenChild?.attrs.address ?? "",
          port: Math.max(0, Number(g.attrs.port ?? 0) || 0),
          autoport: g.attrs.autoport === "yes",
        }
      : undefined,
    serialLogPath: serial ? (element(serial.body, "source")?.attrs.path ?? "") : "",
    overlayPath: disk ? (element(disk.body, "source")?.attrs.file ?? "") : "",
    instanceId,
  };
}

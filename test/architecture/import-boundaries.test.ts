import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PROGRAMS = ["hub", "agent", "cloudbox-firmware-client", "edgehubctl"];

function sourceFiles(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const specs = [
    ...text.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1] ?? m[2]!);
  return specs
    .filter((s) => s.startsWith("."))
    .map((s) => path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), s)));
}

const topOf = (p: string) => p.split(path.sep)[0]!;

describe("import boundaries (STYLE.md: gen ← lib ← programs)", () => {
  for (const program of PROGRAMS) {
    it(`${program}/ imports no other program`, () => {
      const offenders = sourceFiles(program).flatMap((f) =>
        importsOf(f)
          .filter((i) => PROGRAMS.includes(topOf(i)) && topOf(i) !== program)
          .map((i) => `${f} → ${i}`),
      );
      expect(offenders).to.deep.equal([]);
    });
  }

  it("lib/ imports no program", () => {
    const offenders = sourceFiles("lib").flatMap((f) =>
      importsOf(f)
        .filter((i) => PROGRAMS.includes(topOf(i)))
        .map((i) => `${f} → ${i}`),
    );
    expect(offenders).to.deep.equal([]);
  });

  it("hub stores and rules never see generated types (only *-service.ts, *-enums.ts and the fleet stream edge map them)", () => {
    const edge = /(-service|-handler|-link|-stream|-grpc|-codec|-wire|-enums|services)\.ts$/;
    const offenders = sourceFiles("hub")
      .filter((f) => !edge.test(f) && !f.startsWith(path.join("hub", "api")))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => topOf(i) === "gen")
          .map((i) => `${f} → ${i}`),
      );
    expect(offenders).to.deep.equal([]);
  });

  describe("hub feature folders (hub/api/README.md)", () => {
    // The request kit and the plumbing every feature builds on; the rest of hub/ are features.
    const KIT = ["api", "background", "db", "domain", "observability", "pki"];
    const hubFiles = sourceFiles("hub");
    const folderOf = (p: string) => (p.split(path.sep).length > 2 ? p.split(path.sep)[1]! : undefined);
    const features = [
      ...new Set(hubFiles.map(folderOf).filter((f): f is string => f !== undefined && !KIT.includes(f))),
    ];
    const hubImports = hubFiles.flatMap((f) =>
      importsOf(f)
        .filter((i) => topOf(i) === "hub")
        .map((i) => ({ from: f, to: i })),
    );

    it("finds the feature folders it guards", () => {
      expect(features).to.include.members(["identity", "catalog", "fleet", "quota", "audit", "auth"]);
    });

    it("the kit imports no feature", () => {
      const offenders = hubImports.filter(
        ({ from, to }) => KIT.includes(folderOf(from) ?? "") && features.includes(folderOf(to) ?? ""),
      );
      expect(offenders.map(({ from, to }) => `${from} → ${to}`)).to.deep.equal([]);
    });

    it("no feature imports another feature's service (its wire edge is private)", () => {
      const offenders = hubImports.filter(({ from, to }) => {
        const a = folderOf(from);
        const b = folderOf(to);
        return a !== undefined && b !== undefined && a !== b && features.includes(b) && /-service\.ts$/.test(to);
      });
      expect(offenders.map(({ from, to }) => `${from} → ${to}`)).to.deep.equal([]);
    });

    it("feature folders import each other without cycles", () => {
      const edges = new Map<string, Set<string>>(features.map((f) => [f, new Set<string>()]));
      for (const { from, to } of hubImports) {
        const a = folderOf(from);
        const b = folderOf(to);
        if (a && b && a !== b && features.includes(a) && features.includes(b)) edges.get(a)!.add(b);
      }
      const cycles = new Set<string>();
      const visit = (node: string, trail: string[]) => {
        if (trail.includes(node)) {
          // One entry per cycle, whichever folder the walk entered it from: rotate to the smallest name.
          const loop = trail.slice(trail.indexOf(node));
          const start = loop.indexOf([...loop].sort()[0]!);
          const rotated = [...loop.slice(start), ...loop.slice(0, start)];
          cycles.add([...rotated, rotated[0]].join(" → "));
          return;
        }
        for (const next of edges.get(node) ?? []) visit(next, [...trail, node]);
      };
      for (const f of features) visit(f, []);
      expect([...cycles]).to.deep.equal([]);
    });
  });

  it("no utils/helpers/misc grab-bags", () => {
    const all = [...PROGRAMS, "lib"].flatMap(sourceFiles);
    expect(all.filter((f) => /(^|\/)(utils?|helpers?|misc)(\.ts|\/)/.test(f))).to.deep.equal([]);
  });
});

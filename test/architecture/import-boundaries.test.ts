import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PROGRAMS = ["hub", "agent", "cloudbox-firmware-client"];

function sourceFiles(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const specs = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? m[2]!);
  return specs.filter((s) => s.startsWith(".")).map((s) => path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), s)));
}

const topOf = (p: string) => p.split(path.sep)[0]!;

describe("import boundaries (STYLE.md: gen ← lib ← programs)", () => {
  for (const program of PROGRAMS) {
    it(`${program}/ imports no other program`, () => {
      const offenders = sourceFiles(program).flatMap((f) =>
        importsOf(f).filter((i) => PROGRAMS.includes(topOf(i)) && topOf(i) !== program).map((i) => `${f} → ${i}`));
      expect(offenders).to.deep.equal([]);
    });
  }

  it("lib/ imports no program", () => {
    const offenders = sourceFiles("lib").flatMap((f) => importsOf(f).filter((i) => PROGRAMS.includes(topOf(i))).map((i) => `${f} → ${i}`));
    expect(offenders).to.deep.equal([]);
  });

  it("hub stores and rules never see generated types (only *-service.ts and the fleet stream edge map them)", () => {
    const edge = /(-service|-handler|-link|-stream|-grpc|-codec|-wire|routes)\.ts$/;
    const offenders = sourceFiles("hub")
      .filter((f) => !edge.test(f) && !f.startsWith(path.join("hub", "api")))
      .flatMap((f) => importsOf(f).filter((i) => topOf(i) === "gen").map((i) => `${f} → ${i}`));
    expect(offenders).to.deep.equal([]);
  });

  it("no utils/helpers/misc grab-bags", () => {
    const all = [...PROGRAMS, "lib"].flatMap(sourceFiles);
    expect(all.filter((f) => /(^|\/)(utils?|helpers?|misc)(\.ts|\/)/.test(f))).to.deep.equal([]);
  });
});

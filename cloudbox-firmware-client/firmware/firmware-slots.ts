import fs from "node:fs";
import path from "node:path";

/**
 * The box's A/B firmware slots under `<state-dir>/slots/`:
 *
 *   slots/a/firmware, slots/a/manifest.json     one installed image per slot
 *   slots/b/...
 *   slots/active.json                           {"active":"a","previous":"b","trial":false}
 *
 * `active.json` is what a bootloader would read: it is only ever replaced whole (temp file +
 * fsync + rename), so a crash leaves the old pointer or the new one, never half of one. A switch
 * to a new image is a `trial` until its health check passes; a box that starts with a trial still
 * pending (it died mid-check) goes back to `previous`.
 */
export type Slot = "a" | "b";

export interface SlotPointer {
  readonly active: Slot;
  readonly previous: Slot | null;
  /** True from the switch until the new image passed its health check. */
  readonly trial: boolean;
}

export interface SlotManifest {
  readonly version: string;
  readonly sha256: string;
  readonly firmwareVersionId: string;
  readonly installedAt: string;
}

const INITIAL: SlotPointer = Object.freeze({ active: "a", previous: null, trial: false });

export class FirmwareSlots {
  readonly root: string;

  constructor(stateDir: string) {
    this.root = path.join(stateDir, "slots");
    fs.mkdirSync(path.join(this.root, "a"), { recursive: true, mode: 0o755 });
    fs.mkdirSync(path.join(this.root, "b"), { recursive: true, mode: 0o755 });
  }

  dirOf(slot: Slot): string {
    return path.join(this.root, slot);
  }

  /** The program of a slot: the firmware file itself, executable. */
  programOf(slot: Slot): string {
    return path.join(this.dirOf(slot), "firmware");
  }

  pointer(): SlotPointer {
    const file = path.join(this.root, "active.json");
    if (!fs.existsSync(file)) return INITIAL;
    const p = JSON.parse(fs.readFileSync(file, "utf8")) as SlotPointer;
    if ((p.active !== "a" && p.active !== "b") || (p.previous !== null && p.previous !== "a" && p.previous !== "b"))
      throw new Error(`Firmware slot pointer ${file} is damaged: ${JSON.stringify(p)}`);
    return p;
  }

  inactive(): Slot {
    return this.pointer().active === "a" ? "b" : "a";
  }

  manifest(slot: Slot): SlotManifest | undefined {
    const file = path.join(this.dirOf(slot), "manifest.json");
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as SlotManifest) : undefined;
  }

  /**
   * Installs a verified file into `slot` (never the active one): the manifest goes first, so a slot
   * being rewritten has none that matches, then the program, each written whole and renamed.
   */
  install(slot: Slot, verifiedFile: string, manifest: SlotManifest): void {
    if (slot === this.pointer().active)
      throw new Error(`Refusing to write firmware slot ${slot}: it is the active slot`);
    const dir = this.dirOf(slot);
    fs.rmSync(path.join(dir, "manifest.json"), { force: true });
    const tmp = path.join(dir, `firmware.tmp-${process.pid}`);
    fs.copyFileSync(verifiedFile, tmp);
    fs.chmodSync(tmp, 0o755);
    fsyncFile(tmp);
    fs.renameSync(tmp, this.programOf(slot));
    writeAtomic(path.join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  /** "Reboots" into `slot` as a trial: the pointer names it, remembering where to go back to. */
  switchTo(slot: Slot): SlotPointer {
    const before = this.pointer();
    const next: SlotPointer = { active: slot, previous: before.active, trial: true };
    this.writePointer(next);
    return next;
  }

  /** The trial passed: the new slot stays. */
  confirm(): SlotPointer {
    const next: SlotPointer = { ...this.pointer(), trial: false };
    this.writePointer(next);
    return next;
  }

  /** The trial failed: back to the previous slot (which was never written during the trial). */
  rollBack(): SlotPointer {
    const p = this.pointer();
    if (!p.previous) throw new Error("Cannot roll firmware back: no previous slot is recorded");
    const next: SlotPointer = { active: p.previous, previous: p.active, trial: false };
    this.writePointer(next);
    return next;
  }

  /** At start: a trial still pending means the box died before its health check passed. */
  recoverUnfinishedTrial(): SlotPointer | undefined {
    const p = this.pointer();
    return p.trial && p.previous ? this.rollBack() : undefined;
  }

  private writePointer(p: SlotPointer): void {
    writeAtomic(path.join(this.root, "active.json"), `${JSON.stringify(p)}\n`);
  }
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, "r+");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, { mode: 0o644 });
  fsyncFile(tmp);
  fs.renameSync(tmp, file);
  // The rename itself is durable only once the directory is synced.
  const dir = fs.openSync(path.dirname(file), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

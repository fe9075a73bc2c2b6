import fs from "node:fs";

export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** An exclusive lock file holding the owner's pid; a stale lock of a dead process is taken over. */
export class DataDirLock {
  private released = false;
  private constructor(readonly file: string) {}

  static acquire(file: string): DataDirLock {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, String(process.pid), { flag: "wx" });
        return new DataDirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const owner = Number(fs.readFileSync(file, "utf8").trim());
        if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
          throw new DataDirLockedError(
            `Cannot open the embedded database: ${file} is held by running process ${owner}`,
          );
        }
        fs.rmSync(file, { force: true });
      }
    }
    throw new DataDirLockedError(`Cannot open the embedded database: could not take ${file}`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    fs.rmSync(this.file, { force: true });
  }
}

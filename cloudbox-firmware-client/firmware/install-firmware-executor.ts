import fs from "node:fs";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { FirmwareInstallOutcome, type InstallFirmwarePayload } from "../../gen/edgehub/common/v1/cloudbox_pb.js";
import { CommandResultSchema, type CommandResult } from "../../gen/edgehub/common/v1/command_pb.js";
import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";
import { StateDir } from "../../lib/fleet-session/state-dir.js";
import { runHealthCheck } from "./firmware-health.js";
import { FirmwareSlots, type Slot } from "./firmware-slots.js";
import { sha256OfFile, verificationFailure } from "./firmware-verify.js";
import { HubFirmwareLink } from "./hub-firmware-link.js";

export interface FirmwareExecutorOptions {
  /** The hub address(es) as given to --hub; the first is used for downloads. */
  hub: string;
  stateDir: string;
  log: Logger;
}

const DEFAULT_HEALTH_DEADLINE_MS = 60_000;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The version the box runs now (its active slot's manifest), or "" before any install. */
export function currentFirmwareVersion(stateDir: string): string {
  const slots = new FirmwareSlots(stateDir);
  return slots.manifest(slots.pointer().active)?.version ?? "";
}

function result(
  payload: InstallFirmwarePayload,
  activeSlot: Slot,
  outcome: FirmwareInstallOutcome,
  detail: string,
): CommandResult {
  return create(CommandResultSchema, {
    kind: { case: "firmwareInstall", value: { version: payload.version, activeSlot, outcome, detail } },
  });
}

/** The hub's firmware key: pinned in the state directory the first time, trusted as pinned afterwards. */
async function pinnedSigningKey(stateDir: string, link: HubFirmwareLink): Promise<string> {
  const file = path.join(stateDir, "firmware-signing-key.pem");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8");
  const pem = await link.signingKey();
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, pem, { mode: 0o644 });
  fs.renameSync(tmp, file);
  return pem;
}

/**
 * install_firmware (hub/firmware/README.md has the whole picture): download over mTLS, verify
 * sha256 and the hub's signature before anything touches a slot (refused otherwise), install into
 * the inactive slot, switch to it as a trial, run its health check within the deadline, and keep
 * it (installed) or switch back (rolled_back). Idempotent: a box already running this sha256
 * answers installed without downloading. Built once at start, where it also finishes a trial the
 * previous run died in (rolled back: its health never passed).
 */
export function installFirmwareExecutor(o: FirmwareExecutorOptions): CommandExecutor<"installFirmware"> {
  const log = o.log.child({ component: "firmware" });
  const slots = new FirmwareSlots(o.stateDir);
  const recovered = slots.recoverUnfinishedTrial();
  if (recovered)
    log.warn({ active: recovered.active }, "Firmware trial unfinished at start: switched back to the previous slot");
  const downloads = path.join(o.stateDir, "firmware-download");

  return async (payload, ctx) => {
    const sha256 = payload.sha256.toLowerCase();
    if (!SHA256_HEX.test(sha256) || payload.version === "" || payload.sizeBytes === 0n)
      throw new Error("install_firmware: the payload needs version, sha256 (64 hex digits) and size_bytes");
    const before = slots.pointer();
    const running = slots.manifest(before.active);
    if (running?.sha256 === sha256 && !before.trial)
      return result(payload, before.active, FirmwareInstallOutcome.INSTALLED, `already running ${running.version}`);

    const identity = new StateDir(o.stateDir).loadIdentity();
    if (!identity) throw new Error("install_firmware: the box is not enrolled (no identity in its state directory)");
    const link = new HubFirmwareLink(o.hub.split(",")[0]!.trim(), {
      caPem: identity.caPem,
      keyPem: identity.keyPem,
      certPem: identity.certPem,
    });
    fs.mkdirSync(downloads, { recursive: true, mode: 0o700 });
    const partial = path.join(downloads, `${sha256}.partial`);
    try {
      const target = slots.inactive();
      const refuse = (detail: string) => {
        log.warn({ version: payload.version, detail }, "Firmware refused before install");
        return result(payload, before.active, FirmwareInstallOutcome.REFUSED, detail);
      };
      let publicKey: string;
      let got: { sha256: string; sizeBytes: number };
      try {
        publicKey = await pinnedSigningKey(o.stateDir, link);
        // The inactive slot may hold these very bytes (a version rolled back earlier): verify them again, no download.
        const held = slots.manifest(target);
        if (held?.sha256 === sha256 && fs.existsSync(slots.programOf(target))) {
          fs.copyFileSync(slots.programOf(target), partial);
          got = { sha256: await sha256OfFile(partial), sizeBytes: fs.statSync(partial).size };
        } else {
          got = await link.download(
            { firmwareVersionId: payload.firmwareVersionId, sha256 },
            partial,
            Number(payload.sizeBytes),
            ctx.signal,
          );
        }
      } catch (err) {
        ctx.signal.throwIfAborted();
        return refuse(`download failed: ${(err as Error).message}`);
      }
      if (got.sizeBytes !== Number(payload.sizeBytes))
        return refuse(`size mismatch: received ${got.sizeBytes} bytes, the hub announced ${payload.sizeBytes}`);
      const failure = verificationFailure({ sha256, signature: payload.signature }, got.sha256, publicKey);
      if (failure) return refuse(failure);

      ctx.signal.throwIfAborted();
      slots.install(target, partial, {
        version: payload.version,
        sha256,
        firmwareVersionId: payload.firmwareVersionId,
        installedAt: new Date().toISOString(),
      });
      slots.switchTo(target);
      log.info({ version: payload.version, slot: target }, "Firmware installed; checking health in the new slot");
      const health = await runHealthCheck(
        slots.programOf(target),
        {
          EDGEHUB_FIRMWARE_SLOT: slots.dirOf(target),
          EDGEHUB_FIRMWARE_VERSION: payload.version,
          EDGEHUB_STATE_DIR: o.stateDir,
        },
        payload.healthDeadlineMs || DEFAULT_HEALTH_DEADLINE_MS,
        ctx.signal,
      );
      if (health.healthy) {
        slots.confirm();
        log.info({ version: payload.version, slot: target }, "Firmware healthy in the new slot");
        return result(payload, target, FirmwareInstallOutcome.INSTALLED, health.detail);
      }
      const back = slots.rollBack();
      log.warn(
        { version: payload.version, slot: back.active, detail: health.detail },
        "Firmware failed its health check; switched back",
      );
      return result(payload, back.active, FirmwareInstallOutcome.ROLLED_BACK, health.detail);
    } finally {
      link.close();
      fs.rmSync(partial, { force: true });
    }
  };
}

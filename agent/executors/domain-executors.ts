import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { CommandResultSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import type { CommandExecutor, CommandExecutors } from "../../lib/fleet-session/command-dispatcher.js";
import type { DomainOps } from "../libvirt/domain-ops.js";
import { buildDomainXml, validateDomainSpec, type DomainType } from "../libvirt/domain-xml.js";
import { domainReport, domainResult } from "./domain-report.js";
import { ensureOverlay, imageFormat, instanceFiles, removeInstanceFiles, type EnsureImage } from "./domain-overlay.js";

export interface DomainExecutorDeps {
  ops: DomainOps;
  ensureImage: EnsureImage;
  /** Holds one directory per domain: its overlay and serial log. */
  instanceDir: string;
  domainType: DomainType;
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 60_000;

/** define_domain: image cached, overlay created, domain defined — each only if absent. */
function defineDomain(d: DomainExecutorDeps): CommandExecutor<"defineDomain"> {
  return async (payload, ctx) => {
    const spec = payload.spec;
    if (!spec) throw new Error("Invalid define_domain: spec is required");
    validateDomainSpec(spec);
    const image = spec.systemDisk!.image!;
    const files = instanceFiles(d.instanceDir, spec.name);
    const format = imageFormat(image);
    const base = await d.ensureImage(image, ctx.signal);
    ctx.signal.throwIfAborted();
    await ensureOverlay(files, { path: base.path, format }, spec.systemDisk!.sizeGb, ctx.signal);
    const xml = buildDomainXml(spec, {
      type: d.domainType,
      overlayPath: files.overlay,
      serialLogPath: files.serialLog,
    });
    const { facts } = await d.ops.define(spec.uuid, xml);
    return domainResult(facts);
  };
}

/** prepare_image: the image version cached on this host (fetched and verified when missing). */
function prepareImage(d: DomainExecutorDeps): CommandExecutor<"prepareImage"> {
  return async (payload, ctx) => {
    const ref = payload.image;
    if (!ref) throw new Error("Invalid prepare_image: image is required");
    const got = await d.ensureImage(ref, ctx.signal);
    return create(CommandResultSchema, {
      kind: {
        case: "preparedImage",
        value: { sha256: ref.sha256, path: got.path, sizeBytes: ref.sizeBytes, fetched: got.fetched },
      },
    });
  };
}

/** undefine_domain: destroyed if running, undefined, its overlay and console log removed. */
function undefineDomain(d: DomainExecutorDeps): CommandExecutor<"undefineDomain"> {
  return async (payload) => {
    const files = instanceFiles(d.instanceDir, payload.name);
    const was = await d.ops.undefine(payload.name);
    await removeInstanceFiles(files);
    return domainResult({ ...was, state: "absent" });
  };
}

/** Every domain kind of CommandPayload, over one libvirt connection pool. */
export function domainExecutors(d: DomainExecutorDeps): CommandExecutors {
  return {
    defineDomain: defineDomain(d),
    prepareImage: prepareImage(d),
    startDomain: async (p) => domainResult(await d.ops.start(p.name)),
    shutdownDomain: async (p, ctx) =>
      domainResult(
        await d.ops.shutdown(p.name, { timeoutMs: p.timeoutMs || DEFAULT_SHUTDOWN_TIMEOUT_MS, signal: ctx.signal }),
      ),
    destroyDomain: async (p) => domainResult(await d.ops.destroy(p.name)),
    undefineDomain: undefineDomain(d),
    suspendDomain: async (p) => domainResult(await d.ops.suspend(p.name)),
    resumeDomain: async (p) => domainResult(await d.ops.resume(p.name)),
    setGraphicsPassword: async (p) =>
      domainResult(
        await d.ops.setGraphicsPassword(p.name, p.password, p.validUntil ? timestampDate(p.validUntil) : undefined),
      ),
    listDomains: async () =>
      create(CommandResultSchema, {
        kind: { case: "domains", value: { domains: (await d.ops.list()).map(domainReport) } },
      }),
  };
}

import { InvalidArgumentError } from "../domain/errors.js";
import type { ContentFormat } from "./version-content-store.js";

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]); // "QFI\xfb"

/**
 * Passes `body` through, refusing it when its first bytes contradict the declared format: a qcow2
 * must start with the qcow2 magic, and a raw image must not (a qcow2 taken for raw would boot as
 * garbage; the agent always names the format to QEMU, which never probes).
 */
export async function* checkFormatMagic(
  body: AsyncIterable<Uint8Array>,
  format: ContentFormat,
): AsyncGenerator<Uint8Array> {
  let head = Buffer.alloc(0);
  let checked = false;
  const check = () => {
    checked = true;
    const isQcow2 = head.length >= QCOW2_MAGIC.length && head.subarray(0, QCOW2_MAGIC.length).equals(QCOW2_MAGIC);
    if (format === "qcow2" && !isQcow2)
      throw new InvalidArgumentError("format", "is qcow2 but the body does not start with the qcow2 magic (QFI\\xfb)");
    if (format === "raw" && isQcow2)
      throw new InvalidArgumentError("format", "is raw but the body is a qcow2 image (declare it qcow2)");
  };
  for await (const chunk of body) {
    if (!checked) {
      head = Buffer.concat([head, chunk]);
      if (head.length >= QCOW2_MAGIC.length) check();
    }
    yield chunk;
  }
  if (!checked) check();
}

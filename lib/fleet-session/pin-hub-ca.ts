import { createHash, X509Certificate } from "node:crypto";
import tls from "node:tls";

export class HubPinningError extends Error {
  override readonly name = "HubPinningError";
  /** True when the hub could not be reached (try again later); false when it is not the pinned hub. */
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/**
 * First contact without a CA file: a TLS handshake that does not verify, then the chain the hub
 * presented (leaf + CA) is checked against the CA fingerprint from the join token. The token is
 * only sent afterwards, over a connection verified against the CA found here.
 */
export function fetchPinnedHubCa(
  host: string,
  port: number,
  caFingerprint: string,
  timeoutMs = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      rejectUnauthorized: false,
      ALPNProtocols: ["h2"],
      ...(isIp(host) ? {} : { servername: host }),
    });
    const timer = setTimeout(
      () =>
        socket.destroy(new HubPinningError(`Cannot reach the hub at ${host}:${port}: TLS handshake timed out`, true)),
      timeoutMs,
    );
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(
        err instanceof HubPinningError
          ? err
          : new HubPinningError(`Cannot reach the hub at ${host}:${port}: ${err.message}`, true),
      );
    });
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      try {
        resolve(pinnedCaOf(socket.getPeerCertificate(true), caFingerprint));
      } catch (err) {
        reject(err);
      } finally {
        socket.destroy();
      }
    });
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

function pinnedCaOf(leaf: tls.DetailedPeerCertificate, fingerprint: string): string {
  if (!leaf.raw) throw new HubPinningError("Cannot pin the hub: it presented no certificate");
  const chain: tls.DetailedPeerCertificate[] = [];
  for (let c: tls.DetailedPeerCertificate | undefined = leaf; c && !chain.includes(c); c = c.issuerCertificate)
    chain.push(c);
  const ca = chain.find((c) => createHash("sha256").update(c.raw).digest("hex") === fingerprint);
  if (!ca)
    throw new HubPinningError(
      "Cannot pin the hub: no certificate it presented matches the CA fingerprint in the join token (wrong hub, or a man in the middle)",
    );
  const caCert = new X509Certificate(ca.raw);
  const leafCert = new X509Certificate(leaf.raw);
  if (!leafCert.checkIssued(caCert) || !leafCert.verify(caCert.publicKey)) {
    throw new HubPinningError("Cannot pin the hub: its server certificate is not signed by the pinned CA");
  }
  return caCert.toString();
}

export function certificateSha256(pem: string): string {
  return createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");
}

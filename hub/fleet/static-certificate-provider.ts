import type * as grpc from "@grpc/grpc-js";
import type { PemPair } from "../pki/hub-ca.js";

/**
 * Fixed CA and identity for grpc-js certificate-provider credentials (the hub CA never rotates
 * while running). Updates are delivered on the next tick: grpc-js registers its watcher only after
 * adding these listeners, so a synchronous update would be lost and every handshake refused.
 */
export class StaticCertificateProvider implements grpc.experimental.CertificateProvider {
  constructor(
    private readonly caPem: string,
    private readonly identity: PemPair,
  ) {}

  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    setImmediate(() => listener({ caCertificate: Buffer.from(this.caPem) }));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    setImmediate(() =>
      listener({ certificate: Buffer.from(this.identity.certPem), privateKey: Buffer.from(this.identity.keyPem) }),
    );
  }
  removeIdentityCertificateListener(): void {}
}

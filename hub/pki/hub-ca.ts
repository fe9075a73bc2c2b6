// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import { createHash, webcrypto } from "node:crypto";
import net from "node:net";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 24 * 3600 * 1000;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new Error("Cannot read the hub CA key: no PEM block");
  return webcrypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, false, ["sign"]);
}

function serialNumber(): string {
  // Positive 128-bit serial (leading nibble < 8).
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString("hex");
}

/** Creates a new self-signed CA (10 years) for the agent endpoint. */
export async function generateHubCa(now = new Date()): Promise<PemPair> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: "CN=edgehub hub CA",
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + 3650 * DAY_MS),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey!) };
}

/** SHA-256 of the CA certificate's DER, hex: what a join token carries so agents can pin the hub. */
export function certificateFingerprint(certPem: string): string {
  return createHash("sha256")
    .update(Buffer.from(new x509.X509Certificate(certPem).rawData))
    .digest("hex");
}

export interface SignClientCertificateInput {
  csrPem: string;
  /** Written as the certificate's CN; the hub's identity for the agent. */
  commonName: string;
  /** Organisational unit: the agent's role. */
  role: string;
  validDays: number;
  now?: Date;
}

/** The hub's certificate authority: issues the endpoint's server certificate and agents' client certificates. */
export class HubCa {
  private constructor(
    readonly certPem: string,
    private readonly cert: x509.X509Certificate,
    private readonly signingKey: CryptoKey,
  ) {}

  static async load(pair: PemPair): Promise<HubCa> {
    return new HubCa(pair.certPem, new x509.X509Certificate(pair.certPem), await importKeyPem(pair.keyPem));
  }

  get fingerprint(): string {
    return certificateFingerprint(this.certPem);
  }

  /** A server certificate for the agent endpoint, valid for the given hostnames and IPs. */
  async issueServerCertificate(names: readonly string[], now = new Date()): Promise<PemPair> {
    const keys = await generateKeys();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: `CN=${names[0] ?? "edgehub-hub"}`,
      issuer: this.cert.subject,
      notBefore: new Date(now.getTime() - 3600_000),
      notAfter: new Date(now.getTime() + 365 * DAY_MS),
      publicKey: keys.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          names.map((n) => (net.isIP(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n })),
        ),
      ],
    });
    return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey) };
  }

  /** Signs an agent's CSR after checking its self-signature; the subject comes from the hub, not the CSR. */
  async signClientCertificate(
    input: SignClientCertificateInput,
  ): Promise<{ certPem: string; serialNumber: string; notAfter: Date }> {
    const csr = new x509.Pkcs10CertificateRequest(input.csrPem);
    if (!(await csr.verify())) throw new Error("CSR signature does not verify");
    const now = input.now ?? new Date();
    const notAfter = new Date(now.getTime() + input.validDays * DAY_MS);
    const serial = serialNumber();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${input.commonName}, OU=${input.role}`,
      issuer: this.cert.subject,
      notBefore: new Date(now.getTime() - 3600_000),
      notAfter,
      publicKey: csr.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      ],
    });
    return { certPem: cert.toString("pem"), serialNumber: serial, notAfter };
  }
}

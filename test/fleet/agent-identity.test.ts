import "reflect-metadata";
import { expect } from "chai";
import { X509Certificate, webcrypto } from "node:crypto";
import tls from "node:tls";
import * as x509 from "@peculiar/x509";
import { agentIdentityFromPeer, caSubjectOf, normaliseSerial, type CaSubject } from "../../hub/fleet/agent-identity.js";
import { UnauthenticatedError } from "../../hub/domain/errors.js";
import { generateHubCa, HubCa } from "../../hub/pki/hub-ca.js";

/** The peer certificate a TLS server sees from a client presenting `client` (what grpc-js hands the stream). */
async function peerSeenByServer(
  ca: HubCa,
  server: { certPem: string; keyPem: string },
  client: { certPem: string; keyPem: string },
): Promise<tls.PeerCertificate> {
  const srv = tls.createServer({
    cert: server.certPem,
    key: server.keyPem,
    ca: ca.certPem,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const seen = new Promise<tls.PeerCertificate>((resolve) =>
    srv.on("secureConnection", (s) => {
      resolve(s.getPeerCertificate());
      s.end();
    }),
  );
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  const sock = tls.connect({
    host: "127.0.0.1",
    port,
    ca: ca.certPem,
    cert: client.certPem,
    key: client.keyPem,
    servername: "edgehub-hub",
  });
  sock.on("error", () => undefined);
  try {
    return await seen;
  } finally {
    sock.destroy();
    srv.close();
  }
}

async function clientIdentity(ca: HubCa, commonName: string, role: string) {
  x509.cryptoProvider.set(webcrypto as never);
  const keys = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=ignored",
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
  });
  const signed = await ca.signClientCertificate({ csrPem: csr.toString("pem"), commonName, role, validDays: 1 });
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
  return { certPem: signed.certPem, keyPem, serialNumber: signed.serialNumber };
}

describe("agentIdentityFromPeer (client certificate of an agent stream)", () => {
  let ca: HubCa;
  let caSubject: CaSubject;
  let server: { certPem: string; keyPem: string };

  before(async () => {
    ca = await HubCa.load(await generateHubCa());
    caSubject = caSubjectOf(new X509Certificate(ca.certPem));
    server = await ca.issueServerCertificate(["edgehub-hub", "127.0.0.1"]);
  });

  it("reads agent id, role and serial from the certificate TLS verified", async () => {
    const client = await clientIdentity(ca, "01a22606-46a0-75ac-bbbf-f1ee1ca22739", "ceph_gateway");
    const peer = await peerSeenByServer(ca, server, client);
    expect(agentIdentityFromPeer(peer, caSubject, new Date())).to.deep.equal({
      agentId: "01a22606-46a0-75ac-bbbf-f1ee1ca22739",
      role: "ceph_gateway",
      serial: normaliseSerial(client.serialNumber),
    });
  });

  it("refuses no certificate, another issuer, expiry and a subject that names no agent", async () => {
    const peer = await peerSeenByServer(ca, server, await clientIdentity(ca, "agent-1", "compute"));
    const refuse = (p: tls.PeerCertificate | undefined, now = new Date()) => {
      try {
        agentIdentityFromPeer(p, caSubject, now);
      } catch (err) {
        expect(err).to.be.instanceOf(UnauthenticatedError);
        return (err as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refuse(undefined)).to.match(/no client certificate issued by this hub's CA/);
    expect(refuse({ ...peer, raw: Buffer.alloc(0) })).to.match(/no client certificate/);
    expect(refuse({ ...peer, issuer: { ...peer.issuer, CN: "some other CA" } })).to.match(
      /not signed by this hub's CA/,
    );
    expect(refuse({ ...peer, issuer: { ...peer.issuer, O: "extra attribute" } })).to.match(
      /not signed by this hub.s CA/,
    );
    expect(refuse(peer, new Date(Date.now() + 3 * 86_400_000))).to.match(/outside its validity/);
    expect(refuse({ ...peer, subject: { ...peer.subject, OU: "printer" } })).to.match(/names no agent/);
    expect(refuse({ ...peer, subject: { ...peer.subject, CN: "" } })).to.match(/names no agent/);
  });
});

// @azure/keyvault-certificates 4.10.3 (its default api-version) against trent's Key Vault certificates plane over
// plain HTTP: create with DefaultCertificatePolicy and the poller, the certificate checked by node:crypto's
// X509Certificate, the managed PFX secret, import of that PFX under another name, delete/purge, and contacts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { CertificateClient, DefaultCertificatePolicy } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { KEYVAULT_URL, credential, unique, rejection } from "../lib/env.mjs";

const options = {
  disableChallengeResourceVerification: true,
  allowInsecureConnection: true,
  retryOptions: { maxRetries: 0 },
};
const client = new CertificateClient(KEYVAULT_URL, credential, options);
const secrets = new SecretClient(KEYVAULT_URL, credential, options);
const FAST = { intervalInMs: 10 };

async function create(name, policy = DefaultCertificatePolicy) {
  const poller = await client.beginCreateCertificate(name, policy, FAST);
  return poller.pollUntilDone();
}

async function purge(name) {
  await (await client.beginDeleteCertificate(name, FAST)).pollUntilDone();
  await client.purgeDeletedCertificate(name);
}

test("create with DefaultCertificatePolicy: a self-signed certificate and its PFX secret", async () => {
  const name = unique("cert");
  const created = await create(name);
  assert.equal(created.name, name);
  assert.match(created.properties.version, /^[0-9a-f]{32}$/);
  const cert = await client.getCertificate(name);
  assert.deepEqual(Buffer.from(cert.cer), Buffer.from(created.cer));
  const x509 = new X509Certificate(Buffer.from(cert.cer));
  // the JS SDK's DefaultCertificatePolicy is { issuerName: "Self", subject: "cn=MyCert" }
  assert.equal(DefaultCertificatePolicy.subject, "cn=MyCert");
  assert.equal(x509.subject, "CN=MyCert");
  assert.equal(x509.issuer, "CN=MyCert");
  assert.ok(x509.verify(x509.publicKey), "self-signed: its own key verifies it");
  assert.equal(x509.publicKey.asymmetricKeyType, "rsa");
  assert.deepEqual(
    Buffer.from(cert.properties.x509Thumbprint),
    createHash("sha1").update(Buffer.from(cert.cer)).digest(),
  );
  assert.equal(cert.policy.issuerName, "Self");

  const secret = await secrets.getSecret(name);
  assert.equal(secret.properties.contentType, "application/x-pkcs12");
  assert.ok(secret.properties.managed);
  assert.ok(Buffer.from(secret.value, "base64").length > 1000);
  await purge(name);
  const err = await rejection(client.getCertificate(name));
  assert.equal(err.statusCode, 404);
});

test("import the managed PFX of one certificate under another name", async () => {
  const source = unique("src");
  const created = await create(source);
  const pfx = Buffer.from((await secrets.getSecret(source)).value, "base64");
  const name = unique("imp");
  const imported = await client.importCertificate(name, new Uint8Array(pfx));
  assert.deepEqual(Buffer.from(imported.cer), Buffer.from(created.cer));
  assert.equal(imported.policy.issuerName, "Unknown");
  assert.equal(imported.policy.contentType, "application/x-pkcs12");
  const secret = await secrets.getSecret(name);
  assert.equal(secret.properties.contentType, "application/x-pkcs12");
  await purge(name);
  await purge(source);
});

test("beginDeleteCertificate, getDeletedCertificate, purgeDeletedCertificate", async () => {
  const name = unique("del");
  const created = await create(name);
  const deleted = await (await client.beginDeleteCertificate(name, FAST)).pollUntilDone();
  assert.equal(deleted.name, name);
  assert.ok(deleted.recoveryId);
  const got = await client.getDeletedCertificate(name);
  assert.equal(got.properties.version, created.properties.version);
  await client.purgeDeletedCertificate(name);
  const err = await rejection(client.getDeletedCertificate(name));
  assert.equal(err.statusCode, 404);
});

test("setContacts, getContacts, deleteContacts", async () => {
  const contacts = [{ email: "admin@example.test", name: "Admin", phone: "555-0100" }];
  const set = await client.setContacts(contacts);
  assert.deepEqual(
    set.map((c) => [c.email, c.name, c.phone]),
    [["admin@example.test", "Admin", "555-0100"]],
  );
  const got = await client.getContacts();
  assert.deepEqual(got.map((c) => c.email), ["admin@example.test"]);
  // 4.10.3's deleteContacts maps the raw response body (`contacts`, the wire name) as if it were the deserialized
  // model (`contactList`), so it resolves to [] whatever the service answers; the later 404 shows the deletion.
  const deleted = await client.deleteContacts();
  assert.ok(Array.isArray(deleted));
  const err = await rejection(client.getContacts());
  assert.equal(err.statusCode, 404);
});

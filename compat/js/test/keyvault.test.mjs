// @azure/keyvault-secrets (its default api-version) against trent's Key Vault over plain HTTP, plus one HTTPS
// round trip when the generated CA is trusted (NODE_EXTRA_CA_CERTS, set by .ci/run).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SecretClient, parseKeyVaultSecretIdentifier } from "@azure/keyvault-secrets";
import { KEYVAULT_URL, KEYVAULT_TLS_URL, credential, unique, rejection } from "../lib/env.mjs";

const client = new SecretClient(KEYVAULT_URL, credential, {
  disableChallengeResourceVerification: true,
  allowInsecureConnection: true,
  retryOptions: { maxRetries: 0 },
});
const FAST = { intervalInMs: 0 };

async function deleteSecret(name) {
  const poller = await client.beginDeleteSecret(name, FAST);
  return poller.pollUntilDone();
}

test("set, get, versions, identifiers", async () => {
  const name = unique("set");
  const v1 = await client.setSecret(name, "one", { contentType: "text/plain", tags: { env: "test" } });
  assert.equal(v1.value, "one");
  assert.match(v1.properties.version, /^[0-9a-f]{32}$/);
  // @azure/keyvault-secrets 4.11 does not put `contentType` into the body: the option becomes the request's
  // Content-Type header (text/plain) instead. The request must still succeed, as the seed example relies on it.
  assert.deepEqual(v1.properties.tags, { env: "test" });
  assert.equal(v1.properties.enabled, true);
  assert.ok(v1.properties.createdOn instanceof Date);
  assert.equal(v1.properties.recoveryLevel, "Recoverable+Purgeable");
  const id = parseKeyVaultSecretIdentifier(v1.properties.id);
  assert.equal(id.vaultUrl, KEYVAULT_URL);
  assert.equal(id.name, name);
  assert.equal(id.version, v1.properties.version);
  assert.equal(v1.properties.id, `${KEYVAULT_URL}/secrets/${name}/${v1.properties.version}`);

  const v2 = await client.setSecret(name, "two");
  assert.notEqual(v2.properties.version, v1.properties.version);
  assert.equal((await client.getSecret(name)).value, "two");
  assert.equal((await client.getSecret(name, { version: v1.properties.version })).value, "one");

  const versions = [];
  for await (const p of client.listPropertiesOfSecretVersions(name)) versions.push(p.version);
  assert.deepEqual(versions.sort(), [v1.properties.version, v2.properties.version].sort());
});

test("update properties; a disabled secret is forbidden", async () => {
  const name = unique("upd");
  const s = await client.setSecret(name, "v");
  const expiresOn = new Date(Math.floor(Date.now() / 1000 + 86400) * 1000);
  const props = await client.updateSecretProperties(name, s.properties.version, { tags: { k: "v" }, expiresOn });
  assert.deepEqual(props.tags, { k: "v" });
  assert.equal(props.expiresOn.getTime(), expiresOn.getTime());
  await client.updateSecretProperties(name, s.properties.version, { enabled: false });
  const err = await rejection(client.getSecret(name));
  assert.equal(err.statusCode, 403);
  assert.equal(err.code, "Forbidden");
});

test("listPropertiesOfSecrets pages over 25+ secrets", async () => {
  const prefix = unique("page");
  const names = Array.from({ length: 26 }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
  for (const n of names) await client.setSecret(n, "x");
  let pages = 0;
  const seen = [];
  for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 10 })) {
    pages += 1;
    assert.ok(page.length <= 10, `page of ${page.length}`);
    seen.push(...page.map((p) => p.name));
  }
  assert.ok(pages >= 3, `${pages} pages`);
  assert.deepEqual(seen.filter((n) => n.startsWith(prefix)).sort(), names);
  assert.equal(seen.length, new Set(seen).size);
  // the default page size (25) too
  const all = [];
  for await (const p of client.listPropertiesOfSecrets()) all.push(p.name);
  for (const n of names) assert.ok(all.includes(n), n);
});

test("soft delete, recover, purge", async () => {
  const name = unique("del");
  await client.setSecret(name, "v");
  const deleted = await deleteSecret(name);
  assert.equal(deleted.name, name);
  assert.equal(deleted.properties.recoveryId, `${KEYVAULT_URL}/deletedsecrets/${name}`);
  assert.ok(deleted.properties.deletedOn instanceof Date);
  assert.ok(deleted.properties.scheduledPurgeDate > deleted.properties.deletedOn);

  assert.equal((await rejection(client.getSecret(name))).statusCode, 404);
  assert.equal((await client.getDeletedSecret(name)).name, name);
  const listed = [];
  for await (const d of client.listDeletedSecrets()) listed.push(d.name);
  assert.ok(listed.includes(name));
  const conflict = await rejection(client.setSecret(name, "again"));
  assert.equal(conflict.statusCode, 409);
  assert.equal(conflict.code, "Conflict");

  const recover = await client.beginRecoverDeletedSecret(name, FAST);
  const recovered = await recover.pollUntilDone();
  assert.equal(recovered.name, name);
  assert.equal((await client.getSecret(name)).value, "v");

  await deleteSecret(name);
  await client.purgeDeletedSecret(name);
  const purged = await rejection(client.getDeletedSecret(name));
  assert.equal(purged.statusCode, 404);
  assert.equal(purged.code, "SecretNotFound");
});

test("backup and restore", async () => {
  const name = unique("bak");
  await client.setSecret(name, "a");
  await client.setSecret(name, "b");
  const blob = await client.backupSecret(name);
  assert.ok(blob instanceof Uint8Array && blob.length > 0);
  const exists = await rejection(client.restoreSecretBackup(blob));
  assert.equal(exists.statusCode, 409);
  await deleteSecret(name);
  await client.purgeDeletedSecret(name);
  const restored = await client.restoreSecretBackup(blob);
  assert.equal(restored.name, name);
  assert.equal((await client.getSecret(name)).value, "b");
  const bad = await rejection(client.restoreSecretBackup(new Uint8Array([1, 2, 3])));
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.code, "BadParameter");
});

test("errors carry statusCode and code", async () => {
  const missing = unique("missing");
  const err = await rejection(client.getSecret(missing));
  assert.equal(err.name, "RestError");
  assert.equal(err.statusCode, 404);
  assert.equal(err.code, "SecretNotFound");
  assert.match(err.message, new RegExp(missing));
  assert.equal((await rejection(client.beginDeleteSecret(missing, FAST))).statusCode, 404);
  const badName = await rejection(client.setSecret("bad_name!", "v"));
  assert.equal(badName.statusCode, 400);
  assert.equal(badName.code, "BadParameter");
});

test("HTTPS listener with the generated CA", { skip: !process.env.NODE_EXTRA_CA_CERTS && "NODE_EXTRA_CA_CERTS not set" }, async () => {
  const tls = new SecretClient(KEYVAULT_TLS_URL, credential, {
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 0 },
  });
  const name = unique("tls");
  const s = await tls.setSecret(name, "over tls");
  assert.ok(s.properties.id.startsWith(`${KEYVAULT_TLS_URL}/secrets/${name}/`));
  assert.equal((await tls.getSecret(name)).value, "over tls");
  // one store behind both listeners (same default vault)
  assert.equal((await client.getSecret(name)).value, "over tls");
});

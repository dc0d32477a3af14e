// @azure/keyvault-keys 4.10.2 (its default api-version, 2025-07-01) against trent's Key Vault keys plane over plain
// HTTP: KeyClient and CryptographyClient, with trent's signatures checked independently by node:crypto from the JWK.
// (In this SDK RSA1_5/RSA-OAEP encrypt and wrapKey run locally; RSA-OAEP-256, and every decrypt, unwrapKey, sign
// and verify of a digest, go to trent; EC has no local provider.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey, publicEncrypt, verify as nodeVerify, constants, randomBytes } from "node:crypto";
import { CryptographyClient, KeyClient, parseKeyVaultKeyIdentifier } from "@azure/keyvault-keys";
import { KEYVAULT_URL, credential, unique, rejection } from "../lib/env.mjs";

const options = {
  disableChallengeResourceVerification: true,
  allowInsecureConnection: true,
  retryOptions: { maxRetries: 0 },
};
const client = new KeyClient(KEYVAULT_URL, credential, options);
const FAST = { intervalInMs: 0 };
const RSA_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"];

const crypto = (keyOrId) => new CryptographyClient(keyOrId, credential, options);
const sha256 = (data) => createHash("sha256").update(data).digest();
const b64url = (bytes) => Buffer.from(bytes).toString("base64url");

/** The SDK's JsonWebKey (byte arrays) as a node KeyObject, via the JWK import. */
function nodePublicKey(jwk) {
  if (jwk.kty.startsWith("RSA")) {
    return createPublicKey({ key: { kty: "RSA", n: b64url(jwk.n), e: b64url(jwk.e) }, format: "jwk" });
  }
  const crv = { "P-256K": "secp256k1" }[jwk.crv] ?? jwk.crv;
  return createPublicKey({ key: { kty: "EC", crv, x: b64url(jwk.x), y: b64url(jwk.y) }, format: "jwk" });
}

async function collect(iter) {
  const out = [];
  for await (const x of iter) out.push(x);
  return out;
}

async function deleteKey(name) {
  return (await client.beginDeleteKey(name, FAST)).pollUntilDone();
}

test("create, get and update RSA and EC keys", async () => {
  const name = unique("rsa");
  const key = await client.createRsaKey(name, { keySize: 2048, tags: { env: "test" } });
  assert.equal(key.name, name);
  assert.equal(key.keyType, "RSA");
  assert.match(key.properties.version, /^[0-9a-f]{32}$/);
  assert.equal(key.id, `${KEYVAULT_URL}/keys/${name}/${key.properties.version}`);
  assert.equal(key.key.n.length, 256);
  assert.deepEqual([...key.key.e], [1, 0, 1]);
  assert.equal(key.key.d, undefined);
  assert.deepEqual(key.keyOperations, RSA_OPS);
  assert.deepEqual(key.properties.tags, { env: "test" });
  assert.equal(key.properties.enabled, true);
  assert.ok(key.properties.createdOn instanceof Date);
  const id = parseKeyVaultKeyIdentifier(key.id);
  assert.equal(id.vaultUrl, KEYVAULT_URL);
  assert.equal(id.name, name);
  assert.equal(id.version, key.properties.version);
  assert.equal(nodePublicKey(key.key).asymmetricKeyDetails.modulusLength, 2048);

  for (const [curve, size] of [["P-256", 32], ["P-384", 48], ["P-521", 66], ["P-256K", 32]]) {
    const ec = await client.createEcKey(unique("ec"), { curve });
    assert.equal(ec.keyType, "EC");
    assert.equal(ec.key.crv, curve);
    assert.equal(ec.key.x.length, size);
    assert.deepEqual(ec.keyOperations, ["sign", "verify"]);
    nodePublicKey(ec.key); // a valid point on the curve
  }

  const v2 = await client.createKey(name, "RSA", { keySize: 3072 });
  assert.notEqual(v2.properties.version, key.properties.version);
  assert.equal((await client.getKey(name)).properties.version, v2.properties.version);
  assert.equal((await client.getKey(name, { version: key.properties.version })).key.n.length, 256);

  const expiresOn = new Date(Math.floor(Date.now() / 1000 + 86400 * 30) * 1000);
  const updated = await client.updateKeyProperties(name, key.properties.version, {
    tags: { k: "v" },
    expiresOn,
    keyOps: ["sign", "verify"],
  });
  assert.equal(updated.properties.version, key.properties.version);
  assert.deepEqual(updated.properties.tags, { k: "v" });
  assert.equal(updated.properties.expiresOn.getTime(), expiresOn.getTime());
  assert.deepEqual(updated.keyOperations, ["sign", "verify"]);
  const disabled = await client.updateKeyProperties(name, v2.properties.version, { enabled: false });
  assert.equal(disabled.properties.enabled, false);
});

test("listPropertiesOfKeys and versions page via nextLink", async () => {
  const name = unique("ver");
  const versions = [];
  for (let i = 0; i < 5; i++) versions.push((await client.createEcKey(name)).properties.version);
  const pages = await collect(client.listPropertiesOfKeyVersions(name).byPage({ maxPageSize: 2 }));
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
  assert.deepEqual(pages.flat().map((p) => p.version).sort(), [...versions].sort());
  assert.deepEqual(await collect(client.listPropertiesOfKeyVersions(unique("nokey"))), []);

  const prefix = unique("list");
  const names = Array.from({ length: 6 }, (_, i) => `${prefix}-${i}`);
  for (const n of names) await client.createEcKey(n);
  let count = 0;
  const seen = [];
  for await (const page of client.listPropertiesOfKeys().byPage({ maxPageSize: 5 })) {
    count += 1;
    assert.ok(page.length <= 5, `page of ${page.length}`);
    seen.push(...page.map((p) => p.name));
  }
  assert.ok(count >= 2, `${count} pages`);
  assert.deepEqual(seen.filter((n) => n.startsWith(prefix)).sort(), names);
  assert.equal(seen.length, new Set(seen).size);
});

test("soft delete, recover, purge", async () => {
  const name = unique("del");
  const key = await client.createRsaKey(name);
  const deleted = await deleteKey(name);
  assert.equal(deleted.name, name);
  assert.equal(deleted.id, key.id);
  assert.equal(deleted.properties.recoveryId, `${KEYVAULT_URL}/deletedkeys/${name}`);
  assert.ok(deleted.properties.deletedOn instanceof Date);
  assert.ok(deleted.properties.scheduledPurgeDate > deleted.properties.deletedOn);
  assert.equal((await rejection(client.getKey(name))).statusCode, 404);
  assert.equal((await client.getDeletedKey(name)).name, name);
  assert.ok((await collect(client.listDeletedKeys())).some((d) => d.name === name));

  const conflict = await rejection(client.createRsaKey(name));
  assert.equal(conflict.statusCode, 409);
  assert.equal(conflict.code, "Conflict");

  const recovered = await (await client.beginRecoverDeletedKey(name, FAST)).pollUntilDone();
  assert.equal(recovered.name, name);
  assert.equal((await client.getKey(name)).id, key.id);

  await deleteKey(name);
  await client.purgeDeletedKey(name);
  const purged = await rejection(client.getDeletedKey(name));
  assert.equal(purged.statusCode, 404);
  assert.equal(purged.code, "KeyNotFound");
});

test("backup and restore", async () => {
  const name = unique("bak");
  await client.createRsaKey(name);
  const last = await client.createRsaKey(name);
  const blob = await client.backupKey(name);
  assert.ok(blob instanceof Uint8Array && blob.length > 0);
  assert.equal((await rejection(client.restoreKeyBackup(blob))).statusCode, 409);
  await deleteKey(name);
  await client.purgeDeletedKey(name);
  const restored = await client.restoreKeyBackup(blob);
  assert.equal(restored.name, name);
  assert.equal(restored.id, last.id);
  assert.deepEqual(restored.key.n, last.key.n);
  assert.equal((await collect(client.listPropertiesOfKeyVersions(name))).length, 2);
  assert.equal((await rejection(client.restoreKeyBackup(new Uint8Array([1, 2, 3])))).statusCode, 400);
});

test("rotation policy and rotate", async () => {
  const name = unique("rot");
  const key = await client.createEcKey(name, { curve: "P-384" });
  const none = await client.getKeyRotationPolicy(name);
  assert.equal(none.id, undefined);
  assert.deepEqual(none.lifetimeActions, [{ action: "Notify", timeBeforeExpiry: "P30D", timeAfterCreate: undefined }]);

  const policy = await client.updateKeyRotationPolicy(name, {
    lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P30D" }],
  });
  assert.equal(policy.id, `${KEYVAULT_URL}/keys/${name}/rotationpolicy`);
  // the service adds the default Notify action
  assert.deepEqual(
    policy.lifetimeActions.map((a) => [a.action, a.timeAfterCreate, a.timeBeforeExpiry]),
    [["Rotate", "P30D", undefined], ["Notify", undefined, "P30D"]],
  );
  assert.ok(policy.createdOn instanceof Date);
  const got = await client.getKeyRotationPolicy(name);
  assert.deepEqual(got.lifetimeActions, policy.lifetimeActions);

  const withExpiry = await client.updateKeyRotationPolicy(name, {
    lifetimeActions: [{ action: "Notify", timeBeforeExpiry: "P30D" }],
    expiresIn: "P90D",
  });
  assert.equal(withExpiry.expiresIn, "P90D");
  assert.equal(withExpiry.lifetimeActions.length, 1);

  const rotated = await client.rotateKey(name);
  assert.notEqual(rotated.properties.version, key.properties.version);
  assert.equal(rotated.key.crv, "P-384");
  assert.equal(rotated.properties.expiresOn - rotated.properties.createdOn, 90 * 86400 * 1000);
  assert.equal((await client.getKey(name)).properties.version, rotated.properties.version);
  assert.equal((await rejection(client.rotateKey(unique("missing")))).statusCode, 404);
});

test("getRandomBytes", async () => {
  const bytes = await client.getRandomBytes(32);
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(bytes.length, 32);
  assert.equal((await rejection(client.getRandomBytes(129))).statusCode, 400);
});

test("encrypt and decrypt: RSA-OAEP (local encrypt) and RSA-OAEP-256 (trent's encrypt)", async () => {
  const key = await client.createRsaKey(unique("enc"));
  const byId = crypto(key.id);
  for (const algorithm of ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"]) {
    const plaintext = Buffer.from(`hello ${algorithm}`);
    const enc = await byId.encrypt({ algorithm, plaintext });
    assert.equal(enc.algorithm, algorithm);
    assert.equal(enc.result.length, 256);
    const dec = await byId.decrypt({ algorithm, ciphertext: enc.result });
    assert.equal(Buffer.from(dec.result).toString(), plaintext.toString());
    assert.equal(dec.keyID, key.id);
  }
  // node:crypto encrypts with the JWK, trent decrypts
  const ct = publicEncrypt(
    { key: nodePublicKey(key.key), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
    Buffer.from("from node"),
  );
  const dec = await crypto(key).decrypt({ algorithm: "RSA-OAEP-256", ciphertext: ct });
  assert.equal(Buffer.from(dec.result).toString(), "from node");
  // the latest version through an unversioned id
  const latest = crypto(`${KEYVAULT_URL}/keys/${key.name}`);
  const enc = await latest.encrypt("RSA-OAEP-256", Buffer.from("latest"));
  assert.equal(Buffer.from((await latest.decrypt("RSA-OAEP-256", enc.result)).result).toString(), "latest");
});

test("wrapKey and unwrapKey", async () => {
  const key = await client.createRsaKey(unique("wrap"));
  const cc = crypto(key);
  for (const algorithm of ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"]) {
    const cek = randomBytes(32);
    const wrapped = await cc.wrapKey(algorithm, cek);
    assert.equal(wrapped.result.length, 256);
    const unwrapped = await cc.unwrapKey(algorithm, wrapped.result);
    assert.deepEqual(Buffer.from(unwrapped.result), cek);
  }
});

test("sign and verify RS256, PS256, ES256, ES384, ES256K; node:crypto verifies trent's signatures", async () => {
  const data = Buffer.from("hello trent");
  const rsaKey = await client.createRsaKey(unique("sig"));
  const cases = [
    ["RS256", rsaKey, {}],
    ["PS256", rsaKey, { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
    ["ES256", await client.createEcKey(unique("sig"), { curve: "P-256" }), { dsaEncoding: "ieee-p1363" }],
    ["ES384", await client.createEcKey(unique("sig"), { curve: "P-384" }), { dsaEncoding: "ieee-p1363" }],
    ["ES256K", await client.createEcKey(unique("sig"), { curve: "P-256K" }), { dsaEncoding: "ieee-p1363" }],
  ];
  for (const [algorithm, key, nodeOpts] of cases) {
    const hash = algorithm.endsWith("384") ? "sha384" : "sha256";
    const digest = createHash(hash).update(data).digest();
    const cc = crypto(key.id);
    const signed = await cc.sign(algorithm, digest);
    assert.equal(signed.keyID, key.id);
    assert.equal(signed.algorithm, algorithm);
    const pub = nodePublicKey(key.key);
    assert.ok(nodeVerify(hash, data, { key: pub, ...nodeOpts }, signed.result), `${algorithm}: node:crypto verify`);
    assert.ok(!nodeVerify(hash, Buffer.from("other"), { key: pub, ...nodeOpts }, signed.result));
    // trent's /verify
    assert.equal((await cc.verify(algorithm, digest, signed.result)).result, true, `${algorithm}: trent verify`);
    const other = createHash(hash).update("other").digest();
    assert.equal((await cc.verify(algorithm, other, signed.result)).result, false);
    // signData hashes in the SDK; verifyData (local for RSA, trent's /verify for EC)
    const dataSig = await cc.signData(algorithm, data);
    assert.ok(nodeVerify(hash, data, { key: pub, ...nodeOpts }, dataSig.result));
    // (not for PS*: the SDK's local RSA verifyData verifies PS256 with PKCS#1 v1.5 padding, so it says false for
    // any PSS signature; node:crypto above and trent's /verify both accept it)
    if (!algorithm.startsWith("PS")) {
      assert.equal((await cc.verifyData(algorithm, data, dataSig.result)).result, true, `${algorithm}: verifyData`);
    }
  }
});

test("errors carry statusCode and code", async () => {
  const missing = unique("missing");
  const err = await rejection(client.getKey(missing));
  assert.equal(err.name, "RestError");
  assert.equal(err.statusCode, 404);
  assert.equal(err.code, "KeyNotFound");
  assert.ok(err.message.startsWith(`A key with (name/id) ${missing} was not found`), err.message);
  assert.equal((await rejection(client.beginDeleteKey(missing, FAST))).statusCode, 404);
  assert.equal((await rejection(client.backupKey(missing))).statusCode, 404);
  const badName = await rejection(client.createRsaKey("bad_name!"));
  assert.equal(badName.statusCode, 400);
  assert.equal(badName.code, "BadParameter");

  // ES256 on a P-384 key: the SDK sends it, trent refuses it
  const p384 = await client.createEcKey(unique("p384"), { curve: "P-384" });
  const mismatch = await rejection(crypto(p384).sign("ES256", sha256("x")));
  assert.equal(mismatch.statusCode, 400);
  assert.equal(mismatch.code, "BadParameter");

  // an operation outside key_ops: the JS SDK refuses it before sending
  const encOnly = await client.createRsaKey(unique("ops"), { keyOps: ["encrypt", "decrypt"] });
  assert.deepEqual(encOnly.keyOperations, ["encrypt", "decrypt"]);
  const forbidden = await rejection(crypto(encOnly).sign("RS256", sha256("x")));
  assert.match(forbidden.message, /sign/);
});

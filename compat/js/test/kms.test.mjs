// @aws-sdk/client-kms against trent's KMS: the main operations and the error names the SDK surfaces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID, createPublicKey, verify as verifySignature } from "node:crypto";
import {
  KMSClient,
  CreateKeyCommand,
  DescribeKeyCommand,
  ListKeysCommand,
  EnableKeyCommand,
  DisableKeyCommand,
  ScheduleKeyDeletionCommand,
  CancelKeyDeletionCommand,
  EncryptCommand,
  DecryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  ReEncryptCommand,
  GenerateRandomCommand,
  SignCommand,
  VerifyCommand,
  GetPublicKeyCommand,
  CreateAliasCommand,
  ListAliasesCommand,
  DeleteAliasCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  TagResourceCommand,
  ListResourceTagsCommand,
  CreateCustomKeyStoreCommand,
  paginateListKeys,
} from "@aws-sdk/client-kms";
import { KMS_ENDPOINT, unique, rejection } from "../lib/env.mjs";

const client = (region = "us-east-1") =>
  new KMSClient({
    region,
    endpoint: KMS_ENDPOINT,
    credentials: { accessKeyId: "parlel", secretAccessKey: "parlel" },
    maxAttempts: 1,
  });
const kms = client();
const newKey = async (input = {}) => (await kms.send(new CreateKeyCommand(input))).KeyMetadata;
const text = (bytes) => Buffer.from(bytes).toString();

test("create, describe, list keys", async () => {
  const meta = await newKey({ Description: "js" });
  assert.match(meta.Arn, /^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]{36}$/);
  assert.equal(meta.KeyState, "Enabled");
  assert.equal(meta.KeySpec, "SYMMETRIC_DEFAULT");
  assert.ok(meta.CreationDate instanceof Date);
  const described = (await kms.send(new DescribeKeyCommand({ KeyId: meta.Arn }))).KeyMetadata;
  assert.equal(described.KeyId, meta.KeyId);
  assert.equal(described.Description, "js");

  await newKey();
  const first = await kms.send(new ListKeysCommand({ Limit: 1 }));
  assert.equal(first.Keys.length, 1);
  assert.equal(first.Truncated, true);
  assert.ok(first.NextMarker);
  const ids = [];
  for await (const page of paginateListKeys({ client: kms, pageSize: 2 }, {})) ids.push(...page.Keys.map((k) => k.KeyId));
  assert.ok(ids.includes(meta.KeyId));
  assert.equal(ids.length, new Set(ids).size);
});

test("encrypt / decrypt with and without KeyId, context", async () => {
  const { KeyId, Arn } = await newKey();
  const enc = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("hello"), EncryptionContext: { a: "b" } }));
  assert.equal(enc.KeyId, Arn);
  const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: "b" } }));
  assert.equal(text(dec.Plaintext), "hello");
  assert.equal(dec.KeyId, Arn);
  const withKey = await kms.send(new DecryptCommand({ KeyId, CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: "b" } }));
  assert.equal(text(withKey.Plaintext), "hello");

  const mismatch = await rejection(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: "c" } })));
  assert.equal(mismatch.name, "InvalidCiphertextException");
  assert.equal(mismatch.$metadata.httpStatusCode, 400);

  const other = await newKey();
  const wrong = await rejection(
    kms.send(new DecryptCommand({ KeyId: other.KeyId, CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: "b" } })),
  );
  assert.equal(wrong.name, "IncorrectKeyException");

  const tampered = Buffer.from(enc.CiphertextBlob);
  tampered[tampered.length - 1] ^= 1;
  const bad = await rejection(kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: { a: "b" } })));
  assert.equal(bad.name, "InvalidCiphertextException");
});

test("data keys, re-encrypt, random", async () => {
  const { KeyId } = await newKey();
  const dk = await kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: "AES_256" }));
  assert.equal(dk.Plaintext.length, 32);
  const back = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
  assert.deepEqual(Buffer.from(back.Plaintext), Buffer.from(dk.Plaintext));
  const dk16 = await kms.send(new GenerateDataKeyCommand({ KeyId, NumberOfBytes: 16 }));
  assert.equal(dk16.Plaintext.length, 16);
  const noPlain = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId, KeySpec: "AES_128" }));
  assert.equal(noPlain.Plaintext, undefined);
  assert.equal((await kms.send(new DecryptCommand({ CiphertextBlob: noPlain.CiphertextBlob }))).Plaintext.length, 16);

  const dest = await newKey();
  const re = await kms.send(new ReEncryptCommand({ CiphertextBlob: dk.CiphertextBlob, DestinationKeyId: dest.KeyId }));
  assert.equal(re.KeyId, dest.Arn);
  const again = await kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob }));
  assert.deepEqual(Buffer.from(again.Plaintext), Buffer.from(dk.Plaintext));

  const rnd = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 24 }));
  assert.equal(rnd.Plaintext.length, 24);
});

test("disabled and pending-deletion keys", async () => {
  const { KeyId } = await newKey();
  await kms.send(new DisableKeyCommand({ KeyId }));
  const disabled = await rejection(kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") })));
  assert.equal(disabled.name, "DisabledException");
  await kms.send(new EnableKeyCommand({ KeyId }));
  await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") }));

  const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
  assert.equal(scheduled.KeyState, "PendingDeletion");
  assert.ok(scheduled.DeletionDate instanceof Date);
  const pending = await rejection(kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") })));
  assert.equal(pending.name, "KMSInvalidStateException");
  await kms.send(new CancelKeyDeletionCommand({ KeyId }));
  const meta = (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata;
  assert.equal(meta.KeyState, "Disabled");
});

test("ECC signing verifies with node:crypto", async () => {
  const { KeyId } = await newKey({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId }));
  const pub = createPublicKey({ key: Buffer.from(PublicKey), format: "der", type: "spki" });
  const message = Buffer.from(`signed ${randomUUID()}`);
  const { Signature } = await kms.send(new SignCommand({ KeyId, Message: message, SigningAlgorithm: "ECDSA_SHA_256" }));
  assert.equal(verifySignature("sha256", message, pub, Buffer.from(Signature)), true);
  const ok = await kms.send(new VerifyCommand({ KeyId, Message: message, Signature, SigningAlgorithm: "ECDSA_SHA_256" }));
  assert.equal(ok.SignatureValid, true);
  const bad = await rejection(
    kms.send(new VerifyCommand({ KeyId, Message: Buffer.from("other"), Signature, SigningAlgorithm: "ECDSA_SHA_256" })),
  );
  assert.equal(bad.name, "KMSInvalidSignatureException");
});

test("aliases, rotation, tags", async () => {
  const { KeyId } = await newKey();
  const AliasName = `alias/${unique()}`;
  await kms.send(new CreateAliasCommand({ AliasName, TargetKeyId: KeyId }));
  const { Aliases } = await kms.send(new ListAliasesCommand({ KeyId }));
  assert.deepEqual(Aliases.map((a) => a.AliasName), [AliasName]);
  const enc = await kms.send(new EncryptCommand({ KeyId: AliasName, Plaintext: Buffer.from("a") }));
  assert.ok(enc.KeyId.endsWith(KeyId));
  const dup = await rejection(kms.send(new CreateAliasCommand({ AliasName, TargetKeyId: KeyId })));
  assert.equal(dup.name, "AlreadyExistsException");
  await kms.send(new DeleteAliasCommand({ AliasName }));
  const gone = await rejection(kms.send(new DescribeKeyCommand({ KeyId: AliasName })));
  assert.equal(gone.name, "NotFoundException");

  await kms.send(new EnableKeyRotationCommand({ KeyId }));
  assert.equal((await kms.send(new GetKeyRotationStatusCommand({ KeyId }))).KeyRotationEnabled, true);

  await kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: "k", TagValue: "v" }] }));
  const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId }));
  assert.deepEqual(Tags, [{ TagKey: "k", TagValue: "v" }]);
});

test("errors: not found, validation, other region, no CloudHSM cluster", async () => {
  const missing = await rejection(kms.send(new DescribeKeyCommand({ KeyId: randomUUID() })));
  assert.equal(missing.name, "NotFoundException");
  assert.equal(missing.$metadata.httpStatusCode, 400);

  const invalid = await rejection(kms.send(new EncryptCommand({ Plaintext: Buffer.from("x") })));
  assert.equal(invalid.name, "ValidationException");
  assert.match(invalid.message, /keyId/);

  const { KeyId } = await newKey();
  const elsewhere = await rejection(client("eu-west-1").send(new DescribeKeyCommand({ KeyId })));
  assert.equal(elsewhere.name, "NotFoundException");

  const noCluster = await rejection(
    kms.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: unique("store"),
        CloudHsmClusterId: "cluster-234567abcde",
        TrustAnchorCertificate: "cert",
        KeyStorePassword: "password",
      }),
    ),
  );
  assert.equal(noCluster.name, "CloudHsmClusterNotFoundException");
  assert.match(noCluster.message, /cluster-234567abcde/);
});

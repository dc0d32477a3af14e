// The official @azure/keyvault-keys samples in ../samples (changed only in their connection), each run as its own
// process against trent's HTTPS listener (trent's CA via NODE_EXTRA_CA_CERTS, set by .ci/run).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { KeyClient } from "@azure/keyvault-keys";
import { KEYVAULT_URL, KEYVAULT_TLS_URL, credential } from "../lib/env.mjs";

const run = promisify(execFile);
const samples = join(dirname(fileURLToPath(import.meta.url)), "..", "samples");
const skip = !process.env.NODE_EXTRA_CA_CERTS && "NODE_EXTRA_CA_CERTS not set";

async function sample(file) {
  const { stdout } = await run(process.execPath, [join(samples, file)], {
    env: { ...process.env, KEYVAULT_URI: KEYVAULT_TLS_URL },
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

test("helloWorld.cjs", { skip }, async () => {
  const out = await sample("helloWorld.cjs");
  const name = out.match(/name: '(KeyName\d+)'/)[1];
  assert.match(out, /^key: /m);
  assert.match(out, /^Elliptic curve key: /m);
  assert.match(out, /^RSA Key: /m);
  assert.match(out, /^updated key: /m);
  // the sample deleted its key (without polling): it is in the deleted list, disabled by the update
  const client = new KeyClient(KEYVAULT_URL, credential, {
    disableChallengeResourceVerification: true,
    allowInsecureConnection: true,
  });
  const deleted = await client.getDeletedKey(name);
  assert.equal(deleted.properties.enabled, false);
  assert.equal(deleted.keyType, "EC");
});

test("cryptography.cjs", { skip }, async () => {
  const out = await sample("cryptography.cjs");
  assert.match(out, /^decrypt: {2}My Message$/m); // RSA-OAEP-256 round trip
  assert.match(out, /^decrypt result: {2}My Message$/m); // RSA1_5 round trip
  assert.equal((out.match(/^verify result: {2}true$/gm) ?? []).length, 2); // verifyADigestSignature, verifyADataSignature
  assert.match(out, /^verify result: {2}\{[\s\S]*?result: true/m); // signAndVerify prints the whole result
  assert.match(out, /^unwrap result: {2}\{[\s\S]*?result: <Buffer 4d 79 20 4d 65 73 73 61 67 65>/m); // RSA-OAEP-256, "My Message"
  assert.match(out, /^unwrap result: {2}<Buffer 4d 79 20 4b 65 79>$/m); // RSA-OAEP, "My Key"
});

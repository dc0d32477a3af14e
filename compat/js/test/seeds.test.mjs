// The seeds' SDK examples, verbatim, run as their own processes against trent's default ports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const examples = join(here, "..", "examples");
const seeds = process.env.TRENT_SEEDS_DIR ?? join(here, "..", "..", "..", "..", "shared", "seeds");

function jsBlocks(seed) {
  const text = readFileSync(join(seeds, seed), "utf8");
  return [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
}

test("the example files are the seeds' code, verbatim", { skip: !existsSync(seeds) && `no seeds at ${seeds}` }, () => {
  assert.ok(jsBlocks("aws-kms.md").includes(readFileSync(join(examples, "kms-seed.mjs"), "utf8")));
  assert.ok(jsBlocks("azure-keyvault-secrets.md").includes(readFileSync(join(examples, "keyvault-seed.mjs"), "utf8")));
});

test("KMS seed example prints `secret`", async () => {
  const { stdout } = await run(process.execPath, [join(examples, "kms-seed.mjs")], { timeout: 60_000 });
  assert.equal(stdout, "secret\n");
});

test("Key Vault seed example prints `s3cr3t`", async () => {
  const { stdout } = await run(process.execPath, [join(examples, "keyvault-seed.mjs")], { timeout: 60_000 });
  assert.equal(stdout, "s3cr3t\n");
});

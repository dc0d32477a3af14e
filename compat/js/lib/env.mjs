// Where the running trent is (set by .ci/run; defaults are trent's default ports) and small helpers.
import { randomUUID } from "node:crypto";

export const KMS_ENDPOINT = process.env.TRENT_KMS_URL ?? "http://127.0.0.1:4730";
export const KEYVAULT_URL = process.env.TRENT_KEYVAULT_URL ?? "http://127.0.0.1:4594";
export const KEYVAULT_TLS_URL = process.env.TRENT_KEYVAULT_TLS_URL ?? "https://localhost:4595";

/** A name no earlier run against the same server used. */
export const unique = (prefix = "js") => `${prefix}-${randomUUID().slice(0, 12)}`;

/** Any token works: trent accepts every non-empty bearer token. */
export const credential = {
  async getToken() {
    return { token: "parlel-fake-token", expiresOnTimestamp: Date.now() + 3600_000 };
  },
};

/** Awaits `promise`, which must reject; returns the error. */
export async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

// What the official samples here use instead of @azure/identity: a fake credential (trent accepts any bearer token)
// and client options for a bare https://localhost:port vault, whose challenge names https://vault.azure.net (so no
// challenge-resource check). trent's CA comes from NODE_EXTRA_CA_CERTS.
class FakeCredential {
  async getToken() {
    return { token: "parlel-fake-token", expiresOnTimestamp: Date.now() + 3600_000 };
  }
}
const clientOptions = { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } };
module.exports = { FakeCredential, clientOptions };

"""What the official samples here use instead of azure-identity: a fake credential (trent accepts any bearer token)
and trent's generated CA (TRENT_TLS_CA, as in tests/conftest.py)."""

import os
import tempfile
import time

from azure.core.credentials import AccessToken, AccessTokenInfo

TLS_CA = os.environ.get("TRENT_TLS_CA", os.path.join(tempfile.gettempdir(), "trent-ca.pem"))


class FakeCredential:
    def get_token(self, *scopes, **kwargs):
        return AccessToken("parlel-fake-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        return AccessTokenInfo("parlel-fake-token", int(time.time()) + 3600)

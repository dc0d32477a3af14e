"""boto3 against trent's multi-Region keys and custom key stores: clients in two regions of one server."""

import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, kms_client


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


def arn(region, key_id):
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


@pytest.fixture(scope="module")
def us():
    return kms_client("us-east-1")


@pytest.fixture(scope="module")
def eu():
    return kms_client("eu-west-1")


@pytest.fixture()
def mrk(us, eu):
    """A multi-Region primary in us-east-1 with a replica in eu-west-1."""
    key_id = us.create_key(MultiRegion=True, Description="compat mrk")["KeyMetadata"]["KeyId"]
    us.replicate_key(KeyId=key_id, ReplicaRegion="eu-west-1", Description="compat replica")
    return key_id


# ------------------------------------------------------------------------------------------ multi-Region keys


def test_replicate_key_answers_as_aws(us):
    key_id = us.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    assert key_id.startswith("mrk-") and len(key_id) == 36
    out = us.replicate_key(KeyId=key_id, ReplicaRegion="ap-northeast-1",
                           Tags=[{"TagKey": "env", "TagValue": "compat"}])
    meta = out["ReplicaKeyMetadata"]
    assert meta["Arn"] == arn("ap-northeast-1", key_id)
    assert meta["KeyState"] == "Creating"
    assert meta["MultiRegion"] is True
    assert meta["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert meta["MultiRegionConfiguration"]["PrimaryKey"] == {"Arn": arn("us-east-1", key_id), "Region": "us-east-1"}
    assert out["ReplicaTags"] == [{"TagKey": "env", "TagValue": "compat"}]
    assert '"Statement"' in out["ReplicaPolicy"]


def test_describe_shows_the_configuration_on_both_sides(us, eu, mrk):
    primary = us.describe_key(KeyId=mrk)["KeyMetadata"]
    replica = eu.describe_key(KeyId=mrk)["KeyMetadata"]
    assert primary["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert replica["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    for meta in (primary, replica):
        assert meta["MultiRegionConfiguration"]["ReplicaKeys"] == [
            {"Arn": arn("eu-west-1", mrk), "Region": "eu-west-1"}
        ]
    assert replica["KeyState"] == "Enabled"
    assert replica["Description"] == "compat replica"


def test_ciphertext_of_one_region_decrypts_in_the_other(us, eu, mrk):
    blob = us.encrypt(KeyId=mrk, Plaintext=b"cross-region", EncryptionContext={"a": "b"})["CiphertextBlob"]
    out = eu.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})
    assert out["Plaintext"] == b"cross-region"
    assert out["KeyId"] == arn("eu-west-1", mrk)
    us.rotate_key_on_demand(KeyId=mrk)
    blob = us.encrypt(KeyId=mrk, Plaintext=b"after rotation")["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"after rotation"
    with pytest.raises(ClientError) as e:
        eu.rotate_key_on_demand(KeyId=mrk)
    assert code_of(e) == "UnsupportedOperationException"


def test_replicate_key_errors(us, eu, mrk):
    with pytest.raises(ClientError) as e:
        us.replicate_key(KeyId=mrk, ReplicaRegion="eu-west-1")
    assert code_of(e) == "AlreadyExistsException"
    with pytest.raises(ClientError) as e:
        eu.replicate_key(KeyId=mrk, ReplicaRegion="sa-east-1")
    assert code_of(e) == "UnsupportedOperationException"
    single = us.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        us.replicate_key(KeyId=single, ReplicaRegion="eu-west-1")
    assert code_of(e) == "UnsupportedOperationException"


def test_update_primary_region_and_deletion(us, eu, mrk):
    us.update_primary_region(KeyId=mrk, PrimaryRegion="eu-west-1")
    assert eu.describe_key(KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert us.describe_key(KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    # The new primary, with a replica, waits for it.
    out = eu.schedule_key_deletion(KeyId=mrk, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingReplicaDeletion"
    assert "DeletionDate" not in out
    meta = eu.describe_key(KeyId=mrk)["KeyMetadata"]
    assert meta["KeyState"] == "PendingReplicaDeletion"
    assert meta["PendingDeletionWindowInDays"] == 7
    # The replica is deleted on its own schedule.
    out = us.schedule_key_deletion(KeyId=mrk, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion"
    assert "DeletionDate" in out
    eu.cancel_key_deletion(KeyId=mrk)
    assert eu.describe_key(KeyId=mrk)["KeyMetadata"]["KeyState"] == "Disabled"


# ----------------------------------------------------------------------------------------- custom key stores


def xks_params(name, endpoint):
    return dict(
        CustomKeyStoreName=name,
        CustomKeyStoreType="EXTERNAL_KEY_STORE",
        XksProxyUriEndpoint=endpoint,
        XksProxyUriPath="/kms/xks/v1",
        XksProxyConnectivity="PUBLIC_ENDPOINT",
        XksProxyAuthenticationCredential={
            "AccessKeyId": "ABCDEFGHIJKLMNOPQRST",
            "RawSecretAccessKey": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        },
    )


def test_external_key_store_lifecycle(us):
    suffix = uuid.uuid4().hex[:12]
    store_id = us.create_custom_key_store(**xks_params(f"compat-{suffix}", f"https://xks-{suffix}.example.com"))[
        "CustomKeyStoreId"
    ]
    assert store_id.startswith("cks-") and len(store_id) == 21

    def describe():
        return us.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"][0]

    store = describe()
    assert store["ConnectionState"] == "DISCONNECTED"
    assert store["XksProxyConfiguration"]["UriEndpoint"] == f"https://xks-{suffix}.example.com"
    assert "RawSecretAccessKey" not in store["XksProxyConfiguration"]

    us.connect_custom_key_store(CustomKeyStoreId=store_id)
    assert describe()["ConnectionState"] == "CONNECTING"
    with pytest.raises(ClientError) as e:
        us.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="key-1")
    assert code_of(e) == "CustomKeyStoreInvalidStateException"
    time.sleep(1.2)
    store = describe()
    assert store["ConnectionState"] == "FAILED"
    assert store["ConnectionErrorCode"] == "XKS_PROXY_NOT_REACHABLE"
    with pytest.raises(ClientError) as e:
        us.delete_custom_key_store(CustomKeyStoreId=store_id)
    assert code_of(e) == "CustomKeyStoreInvalidStateException"

    us.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    us.update_custom_key_store(CustomKeyStoreId=store_id, NewCustomKeyStoreName=f"compat-renamed-{suffix}")
    assert describe()["CustomKeyStoreName"] == f"compat-renamed-{suffix}"
    us.delete_custom_key_store(CustomKeyStoreId=store_id)
    with pytest.raises(ClientError) as e:
        us.describe_custom_key_stores(CustomKeyStoreId=store_id)
    assert code_of(e) == "CustomKeyStoreNotFoundException"


def test_custom_key_store_errors(us):
    suffix = uuid.uuid4().hex[:12]
    name = f"compat-{suffix}"
    us.create_custom_key_store(**xks_params(name, f"https://dup-{suffix}.example.com"))
    with pytest.raises(ClientError) as e:
        us.create_custom_key_store(**xks_params(name, f"https://other-{suffix}.example.com"))
    assert code_of(e) == "CustomKeyStoreNameInUseException"
    with pytest.raises(ClientError) as e:
        us.create_custom_key_store(**xks_params(f"{name}-2", f"https://dup-{suffix}.example.com"))
    assert code_of(e) == "XksProxyUriInUseException"
    with pytest.raises(ClientError) as e:
        us.create_custom_key_store(CustomKeyStoreName=f"hsm-{suffix}", CloudHsmClusterId="cluster-234567abcde",
                                   TrustAnchorCertificate="cert", KeyStorePassword="password")
    assert code_of(e) == "CloudHsmClusterNotFoundException"

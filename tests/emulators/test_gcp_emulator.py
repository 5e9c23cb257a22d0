"""The GCP Secret Manager emulator, driven by the official SDK (sync and async) over gRPC.

Each test asserts a documented behaviour of the real service: status codes, the messages
callers match on, etags, version states, ``latest``, filters, paging, limits and CRC32C.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.cloud import secretmanager_v1 as sm
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcAsyncIOTransport,
    SecretManagerServiceGrpcTransport,
)
from google.protobuf.field_mask_pb2 import FieldMask

from emulators.gcp_secret_manager import GcpSecretManagerEmulator, crc32c

P = "projects/p"
AUTO: dict[str, Any] = {"replication": {"automatic": {}}}


@pytest.fixture(scope="module")
def emulator() -> Iterator[GcpSecretManagerEmulator]:
    with GcpSecretManagerEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def client(emulator: GcpSecretManagerEmulator) -> Iterator[sm.SecretManagerServiceClient]:
    channel = grpc.insecure_channel(emulator.address)
    yield sm.SecretManagerServiceClient(
        transport=SecretManagerServiceGrpcTransport(channel=channel)
    )
    channel.close()


@pytest.fixture(autouse=True)
def _clean(emulator: GcpSecretManagerEmulator) -> None:
    emulator.reset()


def _create(client: sm.SecretManagerServiceClient, sid: str = "s", **fields: Any) -> sm.Secret:
    return client.create_secret(parent=P, secret_id=sid, secret=sm.Secret({**AUTO, **fields}))


def _add(client: sm.SecretManagerServiceClient, name: str, data: bytes) -> sm.SecretVersion:
    return client.add_secret_version(parent=name, payload=sm.SecretPayload({"data": data}))


# ---- secrets ---------------------------------------------------------------------------------


def test_create_and_get_round_trip(client: sm.SecretManagerServiceClient) -> None:
    created = _create(client, labels={"team": "a"}, annotations={"Owner.x": "me"})
    assert created.name == "projects/p/secrets/s"
    assert created.create_time is not None
    assert created.etag.startswith('"') and created.etag.endswith('"')
    got = client.get_secret(name=created.name)
    assert dict(got.labels) == {"team": "a"}
    assert dict(got.annotations) == {"Owner.x": "me"}
    assert "automatic" in got.replication
    assert got.etag == created.etag


def test_create_duplicate_is_already_exists(client: sm.SecretManagerServiceClient) -> None:
    _create(client)
    with pytest.raises(gexc.AlreadyExists) as err:
        _create(client)
    assert err.value.message == "Secret [projects/p/secrets/s] already exists."


def test_get_missing_is_not_found(client: sm.SecretManagerServiceClient) -> None:
    with pytest.raises(gexc.NotFound) as err:
        client.get_secret(name="projects/p/secrets/x")
    assert err.value.message == "Secret [projects/p/secrets/x] not found."


@pytest.mark.parametrize("sid", ["", "a" * 256, "has.dot", "sla/sh", "spa ce", "é"])
def test_invalid_secret_ids(client: sm.SecretManagerServiceClient, sid: str) -> None:
    with pytest.raises(gexc.InvalidArgument):
        client.create_secret(parent=P, secret_id=sid, secret=sm.Secret(AUTO))


def test_longest_secret_id(client: sm.SecretManagerServiceClient) -> None:
    sid = "A_-9" * 63 + "abc"
    assert len(sid) == 255
    assert _create(client, sid).name == f"{P}/secrets/{sid}"


def test_replication_rules(client: sm.SecretManagerServiceClient) -> None:
    with pytest.raises(gexc.InvalidArgument, match="replication"):
        client.create_secret(parent=P, secret_id="g", secret=sm.Secret({}))
    with pytest.raises(gexc.InvalidArgument):
        client.create_secret(
            parent=P,
            secret_id="g",
            secret=sm.Secret({"replication": {"user_managed": {"replicas": []}}}),
        )
    regional = "projects/p/locations/us-east1"
    with pytest.raises(gexc.InvalidArgument, match="regional"):
        client.create_secret(parent=regional, secret_id="r", secret=sm.Secret(AUTO))
    made = client.create_secret(
        parent=regional,
        secret_id="r",
        secret=sm.Secret({"customer_managed_encryption": {"kms_key_name": "k"}}),
    )
    assert made.name == f"{regional}/secrets/r"
    # Regional and global secrets live in separate namespaces.
    with pytest.raises(gexc.NotFound):
        client.get_secret(name=f"{P}/secrets/r")
    user = client.create_secret(
        parent=P,
        secret_id="u",
        secret=sm.Secret(
            {"replication": {"user_managed": {"replicas": [{"location": "us-east1"}]}}}
        ),
    )
    assert [r.location for r in user.replication.user_managed.replicas] == ["us-east1"]


@pytest.mark.parametrize(
    "labels",
    [
        {"Team": "a"},  # uppercase key
        {"1team": "a"},  # must start with a letter
        {"t" * 64: "a"},  # key too long
        {"team": "A"},  # uppercase value
        {"team": "v" * 64},  # value too long
        {"te.am": "a"},  # '.' not allowed
        {f"k{i}": "v" for i in range(65)},  # too many
    ],
)
def test_invalid_labels(client: sm.SecretManagerServiceClient, labels: dict[str, str]) -> None:
    with pytest.raises(gexc.InvalidArgument):
        _create(client, labels=labels)


def test_label_limits_accepted(client: sm.SecretManagerServiceClient) -> None:
    labels = {f"k{i}": "v" for i in range(62)} | {"t" * 63: "v-_9" * 15 + "abc", "e": ""}
    assert len(labels) == 64
    assert dict(_create(client, labels=labels).labels) == labels


def test_invalid_annotations_and_topics(client: sm.SecretManagerServiceClient) -> None:
    with pytest.raises(gexc.InvalidArgument):
        _create(client, annotations={"-bad": "x"})
    with pytest.raises(gexc.InvalidArgument):
        _create(client, annotations={"big": "x" * 16400})
    with pytest.raises(gexc.InvalidArgument):
        _create(client, topics=[{"name": "not-a-topic"}])
    made = _create(client, topics=[{"name": "projects/p/topics/t"}])
    assert [t.name for t in made.topics] == ["projects/p/topics/t"]


def test_update_replaces_masked_maps_and_changes_etag(
    client: sm.SecretManagerServiceClient,
) -> None:
    made = _create(client, labels={"a": "1", "b": "2"}, annotations={"x": "1"})
    updated = client.update_secret(
        secret=sm.Secret(
            {"name": made.name, "etag": made.etag, "labels": {"c": "3"}, "annotations": {}}
        ),
        update_mask=FieldMask(paths=["labels"]),
    )
    assert dict(updated.labels) == {"c": "3"}
    assert dict(updated.annotations) == {"x": "1"}  # not in the mask: untouched
    assert updated.etag != made.etag
    with pytest.raises(gexc.FailedPrecondition):  # the etag we read is stale now
        client.update_secret(
            secret=sm.Secret({"name": made.name, "etag": made.etag, "labels": {}}),
            update_mask=FieldMask(paths=["labels"]),
        )
    cleared = client.update_secret(
        secret=sm.Secret({"name": made.name, "annotations": {}}),
        update_mask=FieldMask(paths=["annotations"]),
    )
    assert dict(cleared.annotations) == {}
    assert dict(cleared.labels) == {"c": "3"}


def test_update_errors(client: sm.SecretManagerServiceClient) -> None:
    made = _create(client)
    with pytest.raises(gexc.InvalidArgument):
        client.update_secret(secret=sm.Secret({"name": made.name}), update_mask=FieldMask(paths=[]))
    with pytest.raises(gexc.InvalidArgument):
        client.update_secret(
            secret=sm.Secret({"name": made.name, **AUTO}),
            update_mask=FieldMask(paths=["replication"]),
        )
    with pytest.raises(gexc.InvalidArgument):
        client.update_secret(
            secret=sm.Secret({"name": made.name, "labels": {"BAD": "x"}}),
            update_mask=FieldMask(paths=["labels"]),
        )
    with pytest.raises(gexc.NotFound):
        client.update_secret(
            secret=sm.Secret({"name": f"{P}/secrets/nope"}), update_mask=FieldMask(paths=["labels"])
        )


def test_delete_with_etag_removes_everything(client: sm.SecretManagerServiceClient) -> None:
    made = _create(client)
    _add(client, made.name, b"one")
    with pytest.raises(gexc.FailedPrecondition):
        client.delete_secret(request={"name": made.name, "etag": '"stale"'})
    client.delete_secret(request={"name": made.name, "etag": made.etag})
    with pytest.raises(gexc.NotFound):
        client.delete_secret(name=made.name)
    with pytest.raises(gexc.NotFound, match="not found or has no versions"):
        client.access_secret_version(name=f"{made.name}/versions/latest")
    # No soft delete: the id is free again and versions restart at 1.
    again = _create(client)
    assert _add(client, again.name, b"two").name == f"{again.name}/versions/1"


def test_list_secrets_paging_and_filters(client: sm.SecretManagerServiceClient) -> None:
    for i in range(5):
        _create(client, f"s{i}", labels={"team": "a" if i % 2 else "b"})
    client.create_secret(parent="projects/other", secret_id="o", secret=sm.Secret(AUTO))
    names = [s.name for s in client.list_secrets(request={"parent": P, "page_size": 2})]
    assert names == [f"{P}/secrets/s{i}" for i in range(5)]
    first = client.list_secrets(request={"parent": P, "page_size": 2})
    assert first.next_page_token and first.total_size == 5
    team_a = client.list_secrets(request={"parent": P, "filter": "labels.team=a"})
    assert [s.name for s in team_a] == [f"{P}/secrets/s1", f"{P}/secrets/s3"]
    has_team = client.list_secrets(request={"parent": P, "filter": "labels.team:* name:s4"})
    assert [s.name for s in has_team] == [f"{P}/secrets/s4"]
    with pytest.raises(gexc.InvalidArgument):
        list(client.list_secrets(request={"parent": P, "filter": "bogus"}))
    with pytest.raises(gexc.InvalidArgument):
        list(client.list_secrets(request={"parent": P, "page_token": "garbage"}))


# ---- versions --------------------------------------------------------------------------------


def test_versions_number_from_one_and_latest_is_highest(
    client: sm.SecretManagerServiceClient,
) -> None:
    made = _create(client)
    v1 = _add(client, made.name, b"one")
    v2 = _add(client, made.name, b"two")
    assert (v1.name, v2.name) == (f"{made.name}/versions/1", f"{made.name}/versions/2")
    assert v2.state == sm.SecretVersion.State.ENABLED
    assert v2.create_time is not None
    latest = client.access_secret_version(name=f"{made.name}/versions/latest")
    assert latest.name == f"{made.name}/versions/2"  # resolved, not "latest"
    assert latest.payload.data == b"two"
    assert latest.payload.data_crc32c == crc32c(b"two")
    assert client.access_secret_version(name=v1.name).payload.data == b"one"
    assert client.get_secret_version(name=f"{made.name}/versions/latest").name == v2.name


def test_access_not_found_wording(client: sm.SecretManagerServiceClient) -> None:
    with pytest.raises(gexc.NotFound) as missing:
        client.access_secret_version(name=f"{P}/secrets/x/versions/latest")
    assert missing.value.message == "Secret [projects/p/secrets/x] not found or has no versions."
    made = _create(client)
    with pytest.raises(gexc.NotFound) as empty:
        client.access_secret_version(name=f"{made.name}/versions/latest")
    assert empty.value.message == "Secret [projects/p/secrets/s] not found or has no versions."
    _add(client, made.name, b"v")
    with pytest.raises(gexc.NotFound):
        client.access_secret_version(name=f"{made.name}/versions/7")
    with pytest.raises(gexc.InvalidArgument):
        client.access_secret_version(name=f"{made.name}/versions/x")


def test_payload_limits(client: sm.SecretManagerServiceClient) -> None:
    made = _create(client)
    assert _add(client, made.name, b"x" * 65536).name.endswith("/1")
    with pytest.raises(gexc.InvalidArgument):
        _add(client, made.name, b"x" * 65537)
    with pytest.raises(gexc.InvalidArgument, match="payload"):
        _add(client, made.name, b"")
    with pytest.raises(gexc.NotFound):
        _add(client, f"{P}/secrets/missing", b"x")


def test_crc32c_checked_when_sent(client: sm.SecretManagerServiceClient) -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the standard check value
    made = _create(client)
    good = client.add_secret_version(
        parent=made.name, payload=sm.SecretPayload({"data": b"abc", "data_crc32c": crc32c(b"abc")})
    )
    assert good.client_specified_payload_checksum
    assert not _add(client, made.name, b"abc").client_specified_payload_checksum
    with pytest.raises(gexc.InvalidArgument):
        client.add_secret_version(
            parent=made.name, payload=sm.SecretPayload({"data": b"abc", "data_crc32c": 1})
        )


def test_disabled_and_destroyed_versions(client: sm.SecretManagerServiceClient) -> None:
    made = _create(client)
    v1 = _add(client, made.name, b"one")
    v2 = _add(client, made.name, b"two")
    disabled = client.disable_secret_version(request={"name": v2.name, "etag": v2.etag})
    assert disabled.state == sm.SecretVersion.State.DISABLED
    assert disabled.etag != v2.etag
    with pytest.raises(gexc.FailedPrecondition) as err:
        client.access_secret_version(name=f"{made.name}/versions/latest")
    assert err.value.message == f"Secret Version [{v2.name}] is in DISABLED state."
    assert client.access_secret_version(name=v1.name).payload.data == b"one"
    with pytest.raises(gexc.FailedPrecondition):  # stale version etag
        client.enable_secret_version(request={"name": v2.name, "etag": v2.etag})
    client.enable_secret_version(name=v2.name)
    assert client.access_secret_version(name=f"{made.name}/versions/latest").payload.data == b"two"

    destroyed = client.destroy_secret_version(name=v2.name)
    assert destroyed.state == sm.SecretVersion.State.DESTROYED
    assert destroyed.destroy_time is not None
    with pytest.raises(gexc.FailedPrecondition) as gone:
        client.access_secret_version(name=f"{made.name}/versions/latest")
    assert gone.value.message == f"Secret Version [{v2.name}] is in DESTROYED state."
    with pytest.raises(gexc.FailedPrecondition):  # DESTROYED is terminal
        client.enable_secret_version(name=v2.name)
    with pytest.raises(gexc.FailedPrecondition):
        client.destroy_secret_version(name=v2.name)
    got = client.get_secret_version(name=v2.name)
    assert got.state == sm.SecretVersion.State.DESTROYED


def test_destroy_clears_payload(
    client: sm.SecretManagerServiceClient, emulator: GcpSecretManagerEmulator
) -> None:
    made = _create(client)
    version = _add(client, made.name, b"secret-bytes")
    client.destroy_secret_version(name=version.name)
    assert emulator.versions(made.name) == [(1, "DESTROYED", b"")]


def test_list_versions_newest_first_filters_and_paging(
    client: sm.SecretManagerServiceClient,
) -> None:
    made = _create(client)
    for i in range(5):
        _add(client, made.name, f"v{i}".encode())
    client.disable_secret_version(name=f"{made.name}/versions/2")
    client.destroy_secret_version(name=f"{made.name}/versions/4")

    def numbers(**kw: Any) -> list[str]:
        pager = client.list_secret_versions(request={"parent": made.name, **kw})
        return [v.name.rsplit("/", 1)[1] for v in pager]

    assert numbers() == ["5", "4", "3", "2", "1"]
    assert numbers(page_size=2) == ["5", "4", "3", "2", "1"]  # the pager follows the tokens
    assert numbers(filter="state:ENABLED") == ["5", "3", "1"]
    assert numbers(filter="state:DISABLED") == ["2"]
    assert numbers(filter="NOT state:DESTROYED", page_size=1) == ["5", "3", "2", "1"]
    page = client.list_secret_versions(request={"parent": made.name, "page_size": 2})
    assert page.total_size == 5 and page.next_page_token
    with pytest.raises(gexc.InvalidArgument):
        numbers(filter="create_time>0")
    with pytest.raises(gexc.NotFound):
        list(client.list_secret_versions(request={"parent": f"{P}/secrets/none"}))


# ---- test hooks ------------------------------------------------------------------------------


def test_fail_next_and_call_counts(
    client: sm.SecretManagerServiceClient, emulator: GcpSecretManagerEmulator
) -> None:
    made = _create(client)
    emulator.fail_next("AddSecretVersion", grpc.StatusCode.UNAVAILABLE, times=2)
    for _ in range(2):
        with pytest.raises(gexc.ServiceUnavailable):
            _add(client, made.name, b"x")
    assert _add(client, made.name, b"x").name.endswith("/1")  # failures stored nothing
    assert emulator.calls["AddSecretVersion"] == 3
    assert emulator.calls["CreateSecret"] == 1

    emulator.fail_next("GetSecret", grpc.StatusCode.RESOURCE_EXHAUSTED, retry_delay=2.5)
    with pytest.raises(gexc.ResourceExhausted) as quota:
        client.get_secret(request={"name": made.name}, retry=None)
    delays = [d.retry_delay for d in quota.value.details if hasattr(d, "retry_delay")]
    assert [(d.seconds, d.nanos) for d in delays] == [(2, 500_000_000)]

    emulator.fail_next("GetSecret", grpc.StatusCode.PERMISSION_DENIED, message="denied")
    with pytest.raises(gexc.PermissionDenied, match="denied"):
        client.get_secret(name=made.name)
    assert client.get_secret(name=made.name).name == made.name
    emulator.reset_calls()
    assert emulator.calls["GetSecret"] == 0


def test_concurrent_adds_get_distinct_numbers(
    client: sm.SecretManagerServiceClient, emulator: GcpSecretManagerEmulator
) -> None:
    made = _create(client)
    names: list[str] = []
    lock = threading.Lock()

    def add(i: int) -> None:
        version = _add(client, made.name, f"v{i}".encode())
        with lock:
            names.append(version.name)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(int(n.rsplit("/", 1)[1]) for n in names) == list(range(1, 17))
    assert len(emulator.versions(made.name)) == 16


async def test_async_client(emulator: GcpSecretManagerEmulator) -> None:
    channel = grpc.aio.insecure_channel(emulator.address)
    aclient = sm.SecretManagerServiceAsyncClient(
        transport=SecretManagerServiceGrpcAsyncIOTransport(channel=channel)
    )
    try:
        made = await aclient.create_secret(parent=P, secret_id="a", secret=sm.Secret(AUTO))
        await aclient.add_secret_version(
            parent=made.name, payload=sm.SecretPayload({"data": b"async"})
        )
        got = await aclient.access_secret_version(name=f"{made.name}/versions/latest")
        assert (got.name, got.payload.data) == (f"{made.name}/versions/1", b"async")
        await aclient.disable_secret_version(name=f"{made.name}/versions/1")
        with pytest.raises(gexc.FailedPrecondition, match="is in DISABLED state"):
            await aclient.access_secret_version(name=f"{made.name}/versions/latest")
        with pytest.raises(gexc.NotFound):
            await aclient.get_secret(name=f"{P}/secrets/none")
        versions = [
            v.name
            async for v in await aclient.list_secret_versions(
                request={"parent": made.name, "filter": "state:DISABLED"}
            )
        ]
        assert versions == [f"{made.name}/versions/1"]
    finally:
        await channel.close()


def test_module_entry_point() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.gcp_secret_manager", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        address = line.rsplit(" ", 1)[-1].strip()
        assert address.startswith("127.0.0.1:")
        with grpc.insecure_channel(address) as channel:
            cli = sm.SecretManagerServiceClient(
                transport=SecretManagerServiceGrpcTransport(channel=channel)
            )
            assert cli.create_secret(
                parent=P, secret_id="cli", secret=sm.Secret(AUTO)
            ).name.endswith("cli")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0

"""Messages between the watcher, the PushSecret workflow and its activities.

Everything here crosses Temporal and is stored in workflow history, so it holds references,
versions, digests and ESO-style messages only: never a secret value. The models are imported
inside the workflow sandbox and must stay free of I/O and side effects at import time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio.common import SearchAttributeKey

from pushsecret.api.pushsecret import PushSecretData, PushSecretDataTo

#: Task queue the worker polls unless configured otherwise.
DEFAULT_TASK_QUEUE = "pushsecret"

#: Activity names: the workflow refers to activities by name so that it never imports the
#: modules that carry Kubernetes and cloud SDKs.
ACT_PLAN = "plan_pushsecret"
ACT_PUSH_STORE = "push_to_store"
ACT_DELETE_REMOTE = "delete_remote_refs"
ACT_PATCH_STATUS = "patch_status"
ACT_SET_FINALIZER = "set_finalizer"
ACT_GENERATE = "generate_values"
ACT_DISABLE_VERSIONS = "disable_versions"

#: ESO's status message when the source Secret cannot be read.
MSG_NO_SOURCE = "could not get source secret"

#: Search attributes (register them on the Temporal namespace; the local stack does). The
#: watcher sets namespace and name at start; the workflow keeps Ready and the last rotation
#: time current when it was started with them.
SA_NAMESPACE = SearchAttributeKey.for_keyword("PushSecretNamespace")
SA_NAME = SearchAttributeKey.for_keyword("PushSecretName")
SA_READY = SearchAttributeKey.for_bool("PushSecretReady")
SA_LAST_ROTATION = SearchAttributeKey.for_datetime("PushSecretLastRotation")

ChangeKind = Literal["spec", "source", "store", "resync", "manual"]


class PushSecretRef(BaseModel):
    """Identity of one PushSecret object (a re-created object has a new uid)."""

    namespace: str
    name: str
    uid: str

    @property
    def workflow_id(self) -> str:
        return f"pushsecret/{self.namespace}/{self.name}/{self.uid}"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class Change(BaseModel):
    """Signal payload of ``changed``: what the watcher saw change, by reference only.

    ``generation`` and ``source_version`` let the workflow drop a periodic ``resync`` that
    reports nothing it has not already handled.
    """

    kind: ChangeKind
    detail: str = ""
    generation: int | None = None
    source_version: str | None = None


class GenerateInput(BaseModel):
    """Run the PushSecret's generator once, for rotation ``rotation``."""

    ref: PushSecretRef
    generator: dict[str, Any]  # spec.selector.generatorRef (apiVersion, kind, name)
    rotation: int


class Generated(BaseModel):
    """A generator's output, base64 per key. SECRET: it only ever travels encrypted (the
    payload codec is required for generators) so that one value reaches every store."""

    values: dict[str, str]


class Rotation(BaseModel):
    """The current generated value: one per rotation, pushed to every store until the next."""

    id: int
    at: datetime
    generator: str  # kind/name, so a different generator starts a new rotation
    values: dict[str, str]


class RotationRecord(BaseModel):
    """What one rotation did, for the history: versions and digests per store, no values."""

    id: int
    at: datetime
    stores: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    digests: dict[str, str] = Field(default_factory=dict)


class StoreKey(BaseModel):
    """One entry as it stands in one store."""

    remote_key: str
    property: str = ""
    version: str | None = None


class PendingDisable(BaseModel):
    """Earlier versions to disable in one store once a rotation's grace period is over."""

    store_key: str
    keys: list[StoreKey]
    due_at: datetime


class DisableInput(BaseModel):
    ref: PushSecretRef
    store: StoreTarget
    keys: list[StoreKey]


class StoreTarget(BaseModel):
    """A resolved secret store, without credentials.

    ``spec_snapshot`` is the store's ``spec`` as last read (references to credential Secrets,
    never their contents); deletion falls back to it when the store object is already gone.
    ``fingerprint`` changes whenever the store's spec changes, so digests recorded against an
    older store configuration are not trusted.
    """

    key: str
    kind: Literal["SecretStore", "ClusterSecretStore"]
    name: str
    namespace: str | None = None
    provider: str | None = None
    fingerprint: str = ""
    spec_snapshot: dict[str, object] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    error: str | None = None


class Plan(BaseModel):
    """What one reconcile must do, read from the PushSecret and its stores (no values)."""

    found: bool
    generation: int = 0
    deleting: bool = False
    has_finalizer: bool = False
    deletion_policy: Literal["Delete", "None"] = "None"
    update_policy: Literal["Replace", "IfNotExists"] = "Replace"
    refresh_seconds: float = 3600.0
    synced_resource_version: str = ""
    source_secret: str | None = None
    source_selected: bool = False
    source_secrets: list[str] = Field(default_factory=list)
    source_version: str | None = None
    entries: list[PushSecretData] = Field(default_factory=list)
    data_to: list[PushSecretDataTo] = Field(default_factory=list)
    template: dict[str, Any] | None = None
    generator: dict[str, Any] | None = None
    grace_seconds: float | None = None  # rotation grace period (annotation), None = keep all
    stores: list[StoreTarget] = Field(default_factory=list)
    error: str | None = None


class EntryRecord(BaseModel):
    """What we know one entry holds in one store: a keyed digest and the remote version."""

    data: PushSecretData
    digest: str = ""
    remote_version: str | None = None
    store_fingerprint: str = ""


class PushInput(BaseModel):
    """Input of one push to one store. ``known`` is what we recorded for that store before.

    With ``verify_remote`` False an entry whose digest and store fingerprint match ``known``
    is not sent to the provider at all; with True the provider is asked (and writes only if
    the remote value differs).
    """

    ref: PushSecretRef
    store: StoreTarget
    source_secret: str
    source_selected: bool = False
    source_secrets: list[str] = Field(default_factory=list)
    entries: list[PushSecretData]
    data_to: list[PushSecretDataTo] = Field(default_factory=list)
    template: dict[str, Any] | None = None  # spec.template in its CRD JSON form (no values)
    generated: Generated | None = None  # the current rotation's value (encrypted in history)
    update_policy: Literal["Replace", "IfNotExists"] = "Replace"
    known: dict[str, EntryRecord] = Field(default_factory=dict)
    verify_remote: bool = True


class StoreOutcome(BaseModel):
    """Result of pushing to (or deleting from) one store."""

    store_key: str
    ok: bool
    entries: dict[str, EntryRecord] = Field(default_factory=dict)
    written: list[str] = Field(default_factory=list)
    error: str | None = None


class DeleteInput(BaseModel):
    """Delete every ``entries`` ref from ``store``; used on deletion and for stale entries."""

    ref: PushSecretRef
    store: StoreTarget
    entries: dict[str, EntryRecord]


class StoreRow(BaseModel):
    """The last result of one store, for ``status.stores`` and the ``status`` query."""

    store: str
    ready: bool
    message: str | None = None
    last_sync_time: datetime | None = None
    keys: dict[str, StoreKey] = Field(default_factory=dict)  # by status ref

    @staticmethod
    def keys_of(entries: dict[str, EntryRecord]) -> dict[str, StoreKey]:
        return {
            ref: StoreKey(
                remote_key=r.data.match.remote_ref.remote_key,
                property=r.data.match.remote_ref.property,
                version=r.remote_version,
            )
            for ref, r in entries.items()
        }


class StatusPatch(BaseModel):
    """The status the workflow wants on the PushSecret after a reconcile.

    ``ready`` None leaves the condition untouched. ``synced`` replaces syncedPushSecrets when
    given. ``refresh_time`` and ``synced_resource_version`` are set only on success.
    """

    ref: PushSecretRef
    ready: bool | None = None
    reason: str | None = None
    message: str | None = None
    synced: dict[str, dict[str, PushSecretData]] | None = None
    refresh_time: datetime | None = None
    synced_resource_version: str | None = None
    observed_generation: int | None = None
    stores: list[StoreRow] | None = None


class FinalizerInput(BaseModel):
    """Add (``present`` True) or remove our finalizer on the PushSecret."""

    ref: PushSecretRef
    present: bool


class WorkflowInput(BaseModel):
    """Start input of PushSecretWorkflow; ``state`` is set when continuing as new."""

    ref: PushSecretRef
    state: WorkflowState | None = None


class WorkflowState(BaseModel):
    """All mutable state of one PushSecret workflow, carried whole across continue-as-new.

    Deadlines are absolute so that a restart or a continue-as-new never postpones them.
    """

    pending: list[Change] = Field(default_factory=list)
    deleting: bool = False
    reconciles: int = 0
    next_refresh_at: datetime | None = None
    retry_at: datetime | None = None
    failures: int = 0
    generation: int | None = None
    source_version: str | None = None
    deletion_policy: Literal["Delete", "None"] = "None"
    synced: dict[str, dict[str, EntryRecord]] = Field(default_factory=dict)
    stores: dict[str, StoreTarget] = Field(default_factory=dict)
    rows: dict[str, StoreRow] = Field(default_factory=dict)
    rotation: Rotation | None = None
    next_rotation_at: datetime | None = None
    force_rotation: bool = False
    rotations: list[RotationRecord] = Field(default_factory=list)
    disables: list[PendingDisable] = Field(default_factory=list)
    last_error: str | None = None
    last_synced_at: datetime | None = None


class StatusView(BaseModel):
    """Answer of the ``status`` query: references, versions and digests only."""

    ref: PushSecretRef
    deleting: bool
    reconciles: int
    next_refresh_at: datetime | None
    retry_at: datetime | None
    last_error: str | None
    last_synced_at: datetime | None
    synced: dict[str, dict[str, EntryRecord]]
    stores: list[StoreRow] = Field(default_factory=list)
    next_rotation_at: datetime | None = None
    rotations: list[RotationRecord] = Field(default_factory=list)


WorkflowInput.model_rebuild()


# -- ClusterPushSecret --------------------------------------------------------------------

ACT_FANOUT = "fanout_cluster_pushsecret"


class ClusterPushSecretRef(BaseModel):
    """Identity of one ClusterPushSecret (cluster-scoped)."""

    name: str
    uid: str

    @property
    def workflow_id(self) -> str:
        return f"clusterpushsecret/{self.name}/{self.uid}"


class FanoutResult(BaseModel):
    """What one fan-out did: the namespaces provisioned and failed, and the next refresh."""

    found: bool
    refresh_seconds: float = 3600.0
    provisioned: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)


class ClusterState(BaseModel):
    """All mutable state of a ClusterPushSecret workflow (carried across continue-as-new)."""

    pending: int = 0
    reconciles: int = 0
    next_refresh_at: datetime | None = None
    retry_at: datetime | None = None
    failures: int = 0
    last: FanoutResult | None = None


class ClusterInput(BaseModel):
    ref: ClusterPushSecretRef
    state: ClusterState | None = None

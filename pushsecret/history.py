"""``pushsecret history NAMESPACE/NAME``: a PushSecret's rotations, from its workflow."""

from __future__ import annotations

from temporalio.client import Client

from pushsecret.api.workflow import StatusView
from pushsecret.codec import data_converter, load_codec
from pushsecret.config import Settings
from pushsecret.status import rfc3339


async def history_text(target: str, settings: Settings | None = None) -> str:
    """The rotation history of PushSecret ``namespace/name`` as a table (no values).

    Reads it from the running workflow's ``status`` query; raises LookupError when there is
    no running workflow for that PushSecret.
    """
    settings = settings or Settings.from_env()
    ns, _, name = target.partition("/")
    if not ns or not name:
        raise ValueError("expected NAMESPACE/NAME")
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(load_codec()),
    )
    prefix = f"pushsecret/{ns}/{name}/"
    wf_id = None
    async for wf in client.list_workflows(
        'WorkflowType = "PushSecretWorkflow" AND ExecutionStatus = "Running"'
    ):
        if wf.id.startswith(prefix):
            wf_id = wf.id
            break
    if wf_id is None:
        raise LookupError(f"no running workflow for PushSecret {target}")
    view: StatusView = await client.get_workflow_handle(wf_id).query(
        "status", result_type=StatusView
    )
    lines = [f"PushSecret {target} (workflow {wf_id})"]
    if view.next_rotation_at is not None:
        lines.append(f"next rotation: {rfc3339(view.next_rotation_at)}")
    if not view.rotations:
        lines.append("no rotations (the source is not a generator, or none happened yet)")
        return "\n".join(lines) + "\n"
    rows = [("ROTATION", "TIME", "STORE", "KEY", "VERSION", "DIGEST")]
    for r in view.rotations:
        if not r.stores:
            rows.append((str(r.id), rfc3339(r.at), "(no store yet)", "", "", ""))
        for store, keys in sorted(r.stores.items()):
            for key, version in sorted(keys.items()):
                digest = r.digests.get(f"{store}:{key}", "")
                rows.append((str(r.id), rfc3339(r.at), store, key, version or "", digest[:24]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines) + "\n"

"""The three PATCH flavours the API server accepts: JSON patch, merge patch, strategic merge patch.

Strategic merge patch is implemented for the patch strategies of the built-in types the emulator
serves: ``metadata.finalizers`` merges as a set, ``metadata.ownerReferences`` by ``uid``,
ServiceAccount ``secrets``/``imagePullSecrets`` by ``name``; every other list is replaced. The
directives ``$patch``, ``$retainKeys``, ``$setElementOrder/`` and ``$deleteFromPrimitiveList/`` are
honoured. Custom resources reject it with 415, as the real server does.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from emulators.kube_types import ApiError, JsonObj, bad_request

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# Field path -> merge key (None: a set-like list of scalars). Paths skip list indices.
STRATEGIES: dict[str, str | None] = {
    "metadata.finalizers": None,
    "metadata.ownerReferences": "uid",
    "secrets": "name",
    "imagePullSecrets": "name",
}


def unsupported_patch(content_type: str, strategic: bool) -> ApiError:
    # Server-side apply (APPLY_PATCH) is not emulated, so it is not offered either.
    accepted = [JSON_PATCH, MERGE_PATCH] + ([STRATEGIC_MERGE_PATCH] * strategic)
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{', '.join(accepted)}",
        {},
    )


def apply_patch(content_type: str, original: JsonObj, patch: Any, *, strategic: bool) -> JsonObj:
    """Apply ``patch`` of MIME type ``content_type`` to a deep copy of ``original``.

    ``strategic`` says whether the resource accepts strategic merge patch (built-ins only).
    Raises 415 for an unknown patch type, 400 for a malformed patch, 422 for a failing JSON patch.
    """
    kind = content_type.split(";")[0].strip().lower()
    if kind == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            result = jsonpatch.JsonPatch(patch).apply(copy.deepcopy(original))
        except (
            jsonpatch.JsonPatchException,
            jsonpatch.JsonPointerException,
            KeyError,
            TypeError,
            IndexError,
        ) as exc:
            raise ApiError(422, "Invalid", str(exc), {}) from exc
        if not isinstance(result, dict):
            raise bad_request("the patched document is not an object")
        return result
    if kind not in (MERGE_PATCH, STRATEGIC_MERGE_PATCH) or (
        kind == STRATEGIC_MERGE_PATCH and not strategic
    ):
        raise unsupported_patch(content_type, strategic)
    if not isinstance(patch, dict):
        raise bad_request(
            f"json: cannot unmarshal {type(patch).__name__} into Go value of type "
            "map[string]interface {}"
        )
    if kind == MERGE_PATCH:
        merged = merge_patch(original, patch)
    else:
        merged = strategic_merge(original, patch, "")
    return merged if isinstance(merged, dict) else {}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, ``null`` deletes, the rest replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _strip(value: Any) -> Any:
    """A patch value with the directives removed, for where there is nothing to merge into."""
    if isinstance(value, dict):
        return strategic_merge({}, value, None)
    if isinstance(value, list):
        return [_strip(item) for item in value if not (isinstance(item, dict) and "$patch" in item)]
    return value


def strategic_merge(original: Any, patch: JsonObj, path: str | None) -> Any:
    """Strategic merge of ``patch`` into ``original`` at field ``path`` (None: no strategies)."""
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return None
    result: JsonObj = copy.deepcopy(original) if isinstance(original, dict) else {}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [item for item in result[field] if item not in value]
            continue
        sub = None if path is None else (f"{path}.{key}" if path else key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, sub)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and sub is not None and sub in STRATEGIES:
            result[key] = _merge_list(result.get(key), value, STRATEGIES[sub], sub)
        else:
            result[key] = _strip(value)
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            merge_key = STRATEGIES.get(f"{path}.{field}" if path else field)
            result[field] = _reorder(result[field], order, merge_key)
    if isinstance(patch.get("$retainKeys"), list):
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    return result


def _merge_list(original: Any, patch: list[Any], merge_key: str | None, path: str) -> list[Any]:
    result = list(copy.deepcopy(original)) if isinstance(original, list) else []
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return _strip(patch)  # type: ignore[no-any-return]
    if merge_key is None:
        return result + [
            item for i, item in enumerate(patch) if item not in result and item not in patch[:i]
        ]
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request(f"{path}: the list items must be objects with the key {merge_key!r}")
        index = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and old.get(merge_key) == item.get(merge_key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_strip(item))
        else:
            result[index] = strategic_merge(result[index], item, path)
    return result


def _reorder(items: list[Any], order: list[Any], merge_key: str | None) -> list[Any]:
    def key(item: Any) -> Any:
        return item.get(merge_key) if merge_key and isinstance(item, dict) else item

    wanted = [key(item) for item in order]
    ranked = [item for w in wanted for item in items if key(item) == w]
    return ranked + [item for item in items if key(item) not in wanted]

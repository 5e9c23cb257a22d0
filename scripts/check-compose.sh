#!/usr/bin/env bash
# Validate the deployment files without a Docker engine or a cluster.
#
#  1. docker-compose.yml: `docker-compose config -q` (compose v1.29 validates offline, no daemon).
#     docker-compose comes from PATH, or is installed from Debian when running as root.
#     If it cannot be had at all, this step is skipped (exit 0 for it) with a clear message.
#     Also checked: every image is pinned to a tag (no :latest, no bare name).
#  2. deploy/*.yaml: every file parses as YAML with $PYTHON (default python3), and every
#     document has apiVersion, kind and metadata.name; kustomization resources exist
#     (crds/ files may be missing: another step generates them).
#  3. If kubectl is on PATH and every kustomization resource exists: `kubectl kustomize deploy`.
#
# Exit status: 0 all checks passed (or compose skipped), non-zero on any invalid file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
COMPOSE_FILE="docker-compose.yml"
status=0
skipped=""

log() { printf '%s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; status=1; }

# ------------------------------------------------------------------ 1. docker-compose.yml
find_compose() {
    if command -v docker-compose >/dev/null 2>&1; then
        command -v docker-compose
        return 0
    fi
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "docker-compose not on PATH; installing Debian's docker-compose (no Docker engine needed)" >&2
        if apt-get update -qq >&2 \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >&2; then
            command -v docker-compose && return 0
        fi
        log "apt-get could not install docker-compose" >&2
    fi
    return 1
}

check_compose() {
    local compose tmp out rc
    if [ ! -f "$COMPOSE_FILE" ]; then
        fail "$COMPOSE_FILE not found"
        return
    fi
    if ! compose="$(find_compose)"; then
        log "SKIP: docker-compose validation: docker-compose is not installed and cannot be installed here"
        log "      (not root, or no apt-get). Install it (apt-get install docker-compose) to run this check."
        skipped="$skipped docker-compose"
        return
    fi
    log "== docker-compose config ($("$compose" version --short 2>/dev/null || echo '?'))"
    # Interpolation inputs the file references, pointed at throwaway files so the check does not
    # depend on the developer's ~/.kube/config or real keys. The file itself is not modified.
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    : >"$tmp/digest-key"
    : >"$tmp/codec-keys"
    : >"$tmp/kubeconfig"
    set +e
    out="$(env -u DOCKER_HOST \
        PUSHSECRET_KEYS_DIR="$tmp" KUBECONFIG_HOST_PATH="$tmp/kubeconfig" \
        "$compose" -f "$COMPOSE_FILE" config -q 2>&1)"
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
        printf '%s\n' "$out" >&2
        fail "docker-compose -f $COMPOSE_FILE config -q exited $rc"
        return
    fi
    [ -n "$out" ] && printf '%s\n' "$out"
    log "ok: docker-compose -f $COMPOSE_FILE config -q"

    # Resolved config (defaults applied, no throwaway paths) for the structural checks below.
    set +e
    out="$("$compose" -f "$COMPOSE_FILE" config 2>&1)"
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
        printf '%s\n' "$out" >&2
        fail "docker-compose -f $COMPOSE_FILE config exited $rc with default variables"
        return
    fi
    if ! printf '%s\n' "$out" | "$PYTHON" -c '
import sys, yaml
cfg = yaml.safe_load(sys.stdin)
errors = []
services = cfg.get("services") or {}
for want in ("temporal", "worker", "watcher"):
    if want not in services:
        errors.append(f"service {want!r} missing")
for name, svc in services.items():
    image = svc.get("image")
    if image is None and "build" not in svc:
        errors.append(f"{name}: neither image nor build")
    if image and "build" not in svc:
        tag = image.rsplit("/", 1)[-1]
        if ":" not in tag or tag.endswith(":latest"):
            errors.append(f"{name}: image {image!r} is not pinned to a tag")
for name in ("worker", "watcher"):
    svc = services.get(name) or {}
    dep = (svc.get("depends_on") or {}).get("temporal") or {}
    if dep.get("condition") != "service_healthy":
        errors.append(f"{name}: must depend on temporal being healthy")
    env = svc.get("environment") or {}
    for var in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "PUSHSECRET_TASK_QUEUE",
                "PUSHSECRET_DIGEST_KEY_FILE", "KUBECONFIG"):
        if var not in env:
            errors.append(f"{name}: environment {var} missing")
    if not any(str(v).split(":")[-2:] == ["/kube/config", "ro"] or
               (isinstance(v, dict) and v.get("target") == "/kube/config" and v.get("read_only"))
               for v in svc.get("volumes") or []):
        errors.append(f"{name}: kubeconfig not mounted read-only at /kube/config")
if "healthcheck" not in (services.get("temporal") or {}):
    errors.append("temporal: no healthcheck")
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
'; then
        fail "$COMPOSE_FILE: structural checks"
        return
    fi
    log "ok: services temporal/worker/watcher, pinned images, healthcheck, env, read-only kubeconfig"
}

# ------------------------------------------------------------------ 2. deploy/*.yaml
check_manifests() {
    log "== deploy/*.yaml with $PYTHON"
    if ! "$PYTHON" - deploy <<'PY'
import glob, os, sys
import yaml

deploy = sys.argv[1]
files = sorted(glob.glob(os.path.join(deploy, "*.yaml")))
errors = []
if not files:
    errors.append(f"no {deploy}/*.yaml files")
for path in files:
    try:
        with open(path, encoding="utf-8") as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d is not None]
    except yaml.YAMLError as exc:
        errors.append(f"{path}: YAML error: {exc}")
        continue
    if not docs:
        errors.append(f"{path}: no documents")
    for i, doc in enumerate(docs):
        where = f"{path}[{i}]"
        if not isinstance(doc, dict):
            errors.append(f"{where}: not a mapping")
            continue
        for key in ("apiVersion", "kind"):
            if not isinstance(doc.get(key), str) or not doc[key]:
                errors.append(f"{where}: missing {key}")
        name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
        if not isinstance(name, str) or not name:
            errors.append(f"{where}: missing metadata.name")
        print(f"  {where}: {doc.get('kind')} {name}")
        # Kustomization: every listed resource must exist, except generated CRDs.
        if doc.get("kind") == "Kustomization":
            for res in doc.get("resources") or []:
                target = os.path.join(deploy, res)
                if os.path.exists(target):
                    continue
                if res.startswith("crds/"):
                    print(f"  note: {target} not generated yet (listed in kustomization)")
                else:
                    errors.append(f"{where}: resource {res} does not exist")
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
    then
        fail "deploy/*.yaml"
        return
    fi
    log "ok: every deploy/*.yaml document has apiVersion, kind, metadata.name"
}

# ------------------------------------------------------------------ 3. kustomize build
check_kustomize() {
    if ! command -v kubectl >/dev/null 2>&1; then
        log "SKIP: kubectl kustomize (kubectl not on PATH)"
        skipped="$skipped kustomize"
        return
    fi
    local missing
    missing="$("$PYTHON" -c '
import os, sys, yaml
k = yaml.safe_load(open("deploy/kustomization.yaml"))
print(" ".join(r for r in k.get("resources") or [] if not os.path.exists(os.path.join("deploy", r))))
' 2>/dev/null || echo "?")"
    if [ -n "$missing" ]; then
        log "SKIP: kubectl kustomize deploy (not yet present: $missing)"
        skipped="$skipped kustomize"
        return
    fi
    if kubectl kustomize deploy >/dev/null; then
        log "ok: kubectl kustomize deploy"
    else
        fail "kubectl kustomize deploy"
    fi
}

if ! "$PYTHON" -c 'import yaml' 2>/dev/null; then
    fail "$PYTHON cannot import yaml (PyYAML); set PYTHON to the project's interpreter"
    log "check-compose: FAILED"
    exit 1
fi
check_compose
check_manifests
check_kustomize

if [ $status -ne 0 ]; then
    log "check-compose: FAILED"
else
    log "check-compose: all checks passed${skipped:+ (skipped:$skipped)}"
fi
exit $status

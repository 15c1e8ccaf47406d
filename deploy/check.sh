#!/usr/bin/env bash
# `make deploy-check`: static checks of everything under deploy/, offline.
#
# The tools live in a virtual environment of their own, outside the clone, keyed by a hash of
# deploy/tools-requirements.txt (hashed pins) and the interpreter:
#   ${XDG_CACHE_HOME:-~/.cache}/soteria/deploy-tools-<hash>/   (SOTERIA_DEPLOY_TOOLS overrides)
# so every clone and CI run on a machine shares one install, made again only when the lock
# changes. Installing is the only step that needs the network (PyPI) and takes seconds: uv
# installs the pinned wheels (uv from PATH, or else pip first installs the pinned uv of
# deploy/bootstrap-requirements.txt into that environment). The service's .venv must exist
# (`make install`). Rendering the overlays needs kubectl (kubectl kustomize) or a standalone
# kustomize binary on PATH.
#
#   1. locks     the image's runtime-requirements.txt matches requirements.lock and the
#                project's runtime dependencies (deploy/check_deploy.py locks)
#   2. Dockerfile  hadolint, every rule, any finding fails; the Dockerfile copies every
#                package pyproject.toml ships and its ignore file lets them in
#                (deploy/check_deploy.py image)
#   3. compose   the Compose Specification schema (check-jsonschema's vendored copy), then
#                references and hardening (deploy/check_deploy.py compose), then
#                `docker compose config` where the Compose plugin is installed
#   4. Kubernetes  each overlay rendered with `kubectl kustomize`, checked for inlined
#                secrets (deploy/check_deploy.py manifests), then validated against the
#                Kubernetes API schemas shipped in kubernetes-validate (oldest supported and
#                newest release, strict: unknown fields fail)
#   5. checkov   the Dockerfile and the rendered manifests, and secrets in every deploy file,
#                with the Prisma Cloud download turned off
#
# Suppressed findings are suppressed where they arise, each with its reason: checkov.io/skip
# annotations in the manifests, CAPABILITIES_ADDED in check_deploy.py. This script skips none.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
MAIN=.venv
key=$({ cat deploy/tools-requirements.txt; "$PYTHON" -c 'import sys; print(sys.executable, sys.version)'; } \
  | sha256sum | cut -c1-16)
CACHE=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/soteria
TOOLS=${SOTERIA_DEPLOY_TOOLS:-$CACHE/deploy-tools-$key}
# The oldest Kubernetes release these manifests support, and the newest the schemas know.
K8S_VERSIONS=(1.31.0 1.37.0)

failures=()
step() { printf '\n== %s\n' "$1"; }
run() {  # run NAME COMMAND...: run a check, remember a failure, carry on with the rest
  local name=$1
  shift
  if "$@"; then
    echo "ok: $name"
  else
    failures+=("$name")
  fi
}

# --- tools -------------------------------------------------------------------------------
install_tools() {  # into $TOOLS, under a lock: parallel runs wait for one install
  mkdir -p "$(dirname "$TOOLS")"
  exec 9>"$TOOLS.lock"
  flock 9
  if [[ ! -f $TOOLS/.complete ]]; then
    step "installing the deploy tools into $TOOLS (once per lock; needs PyPI)"
    rm -rf "$TOOLS"
    "$PYTHON" -m venv "$TOOLS"
    local uv
    uv=$(command -v uv || true)
    if [[ -z $uv ]]; then
      "$TOOLS/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
        -r deploy/bootstrap-requirements.txt
      uv=$TOOLS/bin/uv
    fi
    "$uv" pip install --quiet --python "$TOOLS/bin/python" --require-hashes \
      -r deploy/tools-requirements.txt
    touch "$TOOLS/.complete"  # last: an interrupted install is redone, never half-used
  fi
  touch "$TOOLS/.complete"  # last use, for the pruning below
  exec 9>&-
  # Environments of earlier locks, unused for 30 days, go.
  find "$(dirname "$TOOLS")" -maxdepth 2 -path '*/deploy-tools-*/.complete' -mtime +30 \
    -printf '%h\n' 2>/dev/null | while read -r old; do
      if [[ $old != "$TOOLS" ]]; then rm -rf "$old" "$old.lock"; fi
    done
}
install_tools
if [[ ! -x $MAIN/bin/python ]]; then
  echo "deploy-check: $MAIN is missing; run 'make install' first" >&2
  exit 2
fi
if command -v kubectl >/dev/null; then
  kustomize_build() { kubectl kustomize "$@"; }
elif command -v kustomize >/dev/null; then
  kustomize_build() { kustomize build "$@"; }
else
  echo "deploy-check: neither kubectl nor kustomize is on PATH (they render the overlays)" >&2
  exit 2
fi

work=$(mktemp -d)  # rendered manifests in k8s/, logs of the background checks
trap 'rm -rf "$work"' EXIT
mkdir "$work/k8s"

# --- 1. locks ----------------------------------------------------------------------------
step "runtime requirements of the image"
run locks "$MAIN/bin/python" deploy/check_deploy.py locks

# --- 2. Dockerfile -----------------------------------------------------------------------
step "Dockerfile (hadolint, build context)"
run hadolint "$TOOLS/bin/hadolint" --failure-threshold info deploy/Dockerfile
run image "$TOOLS/bin/python" deploy/check_deploy.py image

# --- 3. compose --------------------------------------------------------------------------
step "compose.yaml"
run compose-schema "$TOOLS/bin/check-jsonschema" --builtin-schema vendor.compose-spec \
  deploy/compose.yaml
run compose-policy "$TOOLS/bin/python" deploy/check_deploy.py compose
if docker compose version >/dev/null 2>&1; then
  run compose-config docker compose -f deploy/compose.yaml config --quiet
else
  echo "(docker compose is not installed here: its own parse is skipped, the schema checked it)"
fi

# --- 4. Kubernetes and 5. checkov ---------------------------------------------------------
step "Kubernetes overlays (kustomize)"
for overlay in deploy/k8s/overlays/*/; do
  name=$(basename "$overlay")
  run "kustomize-$name" kustomize_build "$overlay" -o "$work/k8s/$name.yaml"
done
manifests=("$work"/k8s/*.yaml)
run manifests "$TOOLS/bin/python" deploy/check_deploy.py manifests "${manifests[@]}"

# The slow checks run side by side (checkov spends most of its time starting); each one's
# output is shown when all are done.
background=()
spawn() {  # spawn NAME COMMAND...: start a check in the background, output to a log
  local name=$1
  shift
  "$@" > "$work/$name.log" 2>&1 &
  background+=("$name:$!")
}
for version in "${K8S_VERSIONS[@]}"; do
  spawn "kubernetes-validate-$version" "$TOOLS/bin/kubernetes-validate" --strict --quiet \
    --kubernetes-version "$version" "${manifests[@]}"
done
# checkov, offline (no Prisma Cloud download), in one run over a copy of deploy/ in which the
# kustomize sources are replaced by the rendered overlays: the bases alone have neither a
# namespace nor an image, and only the overlays are what runs. Paths in its report are
# relative to deploy/ (rendered/<overlay>.yaml for the manifests).
mkdir "$work/scan"
cp -R deploy/. "$work/scan/"
rm -rf "$work/scan/k8s"
cp -R "$work/k8s" "$work/scan/rendered"
BC_SKIP_MAPPING=TRUE spawn checkov "$TOOLS/bin/checkov" --compact --quiet --skip-download \
  -d "$work/scan" --framework dockerfile kubernetes secrets
for entry in "${background[@]}"; do
  name=${entry%%:*}
  step "$name"
  if wait "${entry##*:}"; then
    echo "ok: $name"
  else
    failures+=("$name")
  fi
  cat "$work/$name.log"
done

# --- verdict -------------------------------------------------------------------------------
echo
if (( ${#failures[@]} )); then
  echo "deploy-check FAILED: ${failures[*]}"
  exit 1
fi
echo "deploy-check passed"

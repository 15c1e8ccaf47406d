#!/usr/bin/env bash
# Regenerate the hashed requirement files under deploy/ (run after `make lock`).
#
#   runtime-requirements.txt  the service's runtime dependencies only (no dev extra), at exactly
#                             the versions and hashes of requirements.lock: the image installs it
#   build-requirements.txt    the build backend for the image's build stage
#   tools-requirements.txt    the tools of `make deploy-check`
#   bootstrap-requirements.txt  uv, which installs those tools where no uv is on PATH
#
# deploy/check.sh fails when runtime-requirements.txt and requirements.lock disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}
compile() { "$UV" pip compile --quiet --generate-hashes --python-version 3.11 "$@"; }

compile pyproject.toml -c requirements.lock -o deploy/runtime-requirements.txt
compile deploy/build-requirements.in -o deploy/build-requirements.txt
compile deploy/tools-requirements.in -o deploy/tools-requirements.txt
compile deploy/bootstrap-requirements.in -o deploy/bootstrap-requirements.txt

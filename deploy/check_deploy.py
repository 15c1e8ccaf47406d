"""Checks of deploy/ that no off-the-shelf tool makes; run by deploy/check.sh.

``locks``    (with the service's own virtual environment, .venv): deploy/runtime-requirements.txt,
             which the image installs, must hold exactly the runtime dependencies of the
             project (the closure of ``soteria-exchange`` without extras, from the installed
             metadata) at the versions and hashes of requirements.lock, which the tests ran on.
``image``    the Dockerfile copies every package pyproject.toml ships, and
             Dockerfile.dockerignore lets into the build context every file the Dockerfile
             copies (an allow-list: a new package or file must be added to both).
``compose``  (with the tools' environment): deploy/compose.yaml must refer only to
             services, networks, volumes and files that exist, and every service must be
             hardened (checkov has no Compose support): no-new-privileges, no privileged mode,
             no host namespaces, images pinned by a version tag, ports published on loopback
             only; the services built from this repository run read-only, as a non-root user,
             with every capability dropped.
``manifests FILE...``  (with the tools' environment): the rendered Kubernetes overlays
             hold no Secret object and no secret-looking value written into an environment
             variable or a ConfigMap (secrets are referenced, never inlined), and every
             container runs an image the overlay named (not the bases' placeholder ``soteria``).

Each problem is printed on its own line; the exit status is 1 if there was any.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent

# --------------------------------------------------------------------------------------
# locks


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """``name -> (version, hashes)`` of a ``pip-compile --generate-hashes`` file."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r"([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)", line)
        if match is None:
            raise SystemExit(f"{path}: cannot read the line {line!r}")
        hashes = frozenset(re.findall(r"--hash=(\S+)", line))
        pins[_normalise(match[1])] = (match[2], hashes)
    return pins


def _runtime_closure(project: str) -> set[str]:
    """The installed distributions ``project`` needs at run time (no extras of its own)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, str]] = [(_normalise(project), "")]
    names: set[str] = set()
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        names.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
                continue
            child = _normalise(requirement.name)
            todo.append((child, ""))
            todo.extend((child, wanted) for wanted in requirement.extras)
    names.discard(_normalise(project))
    return names


def check_locks(*_: str) -> Iterator[str]:
    lock = _pins(ROOT / "requirements.lock")
    runtime_path = DEPLOY / "runtime-requirements.txt"
    runtime = _pins(runtime_path)
    fix = "regenerate it with deploy/lock.sh"
    for name, (version, hashes) in sorted(runtime.items()):
        if name not in lock:
            yield f"{runtime_path.name}: {name} is not in requirements.lock; {fix}"
        elif lock[name][0] != version:
            yield (
                f"{runtime_path.name}: {name}=={version}, but requirements.lock has "
                f"{lock[name][0]}; {fix}"
            )
        elif lock[name][1] != hashes:
            yield f"{runtime_path.name}: {name}'s hashes differ from requirements.lock; {fix}"
    needed = _runtime_closure("soteria-exchange")
    for name in sorted(needed - runtime.keys()):
        yield f"{runtime_path.name}: the service needs {name} but the image would lack it; {fix}"
    for name in sorted(runtime.keys() - needed):
        yield f"{runtime_path.name}: {name} is not a runtime dependency; {fix}"


# --------------------------------------------------------------------------------------
# image


def _allowed_by_dockerignore(path: str, patterns: list[str]) -> bool:
    """Whether ``path`` reaches the context (last matching pattern wins, ``!`` re-includes)."""
    import fnmatch

    allowed = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(prefix, body) for prefix in prefixes):
            allowed = negated
    return allowed


def check_image(*_: str) -> Iterator[str]:
    import tomllib

    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    ignore_lines = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in ignore_lines if line.strip() and line[0] != "#"]
    copied: list[str] = []
    for line in dockerfile.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(word.startswith("--from") for word in words):
            copied.extend(words[1:-1])
    for source in copied:
        if not (ROOT / source).exists():
            yield f"Dockerfile copies {source}, which does not exist"
        elif not _allowed_by_dockerignore(source, patterns):
            yield f"Dockerfile copies {source}, but Dockerfile.dockerignore keeps it out"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    find = project["tool"]["setuptools"]["packages"]["find"]
    for package in (pattern.rstrip("*") for pattern in find["include"]):
        if package not in copied:
            yield f"pyproject.toml ships the package {package}, but the Dockerfile does not copy it"


# --------------------------------------------------------------------------------------
# compose

OWN_IMAGE_USER = "10001:10001"
# Third-party images that need capabilities back, and why.
CAPABILITIES_ADDED = {
    # The caddy binary carries the file capability cap_net_bind_service: exec fails unless
    # that capability is in the bounding set. It is the only one kept.
    ("proxy", "NET_BIND_SERVICE"),
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else list(value or {})


def _compose_service(name: str, service: dict[str, Any], spec: dict[str, Any]) -> Iterator[str]:
    where = f"compose.yaml: service {name}"
    services = spec.get("services") or {}
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        depends_on = dict.fromkeys(depends_on)
    for target, options in depends_on.items():
        if target not in services:
            yield f"{where} depends on {target}, which is not a service"
            continue
        waits = (options or {}).get("condition") == "service_completed_successfully"
        if waits and services[target].get("restart", "no") != "no":
            yield f"{where} waits for {target} to complete, but {target} restarts"
    for network in _as_list(service.get("networks")):
        if network not in (spec.get("networks") or {}):
            yield f"{where} joins network {network}, which is not declared"
    for volume in service.get("volumes") or []:
        source = str(volume).split(":", 1)[0]
        if source.startswith((".", "/")):
            if not (DEPLOY / source).exists():
                yield f"{where} mounts {source}, which does not exist"
        elif source not in (spec.get("volumes") or {}):
            yield f"{where} mounts volume {source}, which is not declared"

    image = str(service.get("image", ""))
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    if not tag or tag == "latest":
        yield f"{where}: image {image!r} is not pinned to a version tag"
    if "no-new-privileges:true" not in (service.get("security_opt") or []):
        yield f"{where}: security_opt lacks no-new-privileges:true"
    if service.get("privileged"):
        yield f"{where} runs privileged"
    for key in ("network_mode", "pid", "ipc", "userns_mode"):
        if str(service.get(key, "")) == "host":
            yield f"{where} shares the host's {key}"
    for added in service.get("cap_add") or []:
        if (name, added) not in CAPABILITIES_ADDED:
            yield f"{where} adds capability {added} without a recorded reason"
    for port in service.get("ports") or []:
        if not str(port).startswith("127.0.0.1:"):
            yield f"{where} publishes {port} beyond the loopback interface"
    if "build" in service:
        if service.get("read_only") is not True:
            yield f"{where}: our image must run with read_only: true"
        if "ALL" not in (service.get("cap_drop") or []):
            yield f"{where}: our image must drop ALL capabilities"
        if service.get("user") != OWN_IMAGE_USER:
            yield f"{where}: our image must run as {OWN_IMAGE_USER}"


def check_compose(*_: str) -> Iterator[str]:
    import yaml

    spec = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    for name, service in (spec.get("services") or {}).items():
        yield from _compose_service(name, service, spec)


# --------------------------------------------------------------------------------------
# manifests

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|KEK|PRIVATE|DATABASE_URL", re.I)
IMAGE_PLACEHOLDER = "soteria"


def _pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    spec = document.get("spec") or {}
    if document.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template")
    return (template or {}).get("spec") if template else None


def check_manifests(*paths: str) -> Iterator[str]:
    import yaml

    if not paths:
        yield "manifests: no rendered files given"
    for path in paths:
        for document in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")):
            if not document:
                continue
            kind, name = document.get("kind"), document.get("metadata", {}).get("name")
            where = f"{Path(path).stem}: {kind} {name}"
            if kind == "Secret":
                yield f"{where}: a Secret written in the manifests; create it out of band"
            if kind == "ConfigMap":
                for key in document.get("data") or {}:
                    if SECRET_NAME.search(key):
                        yield f"{where}: {key} looks secret; reference a Secret instead"
            pod = _pod_spec(document)
            if pod is None:
                continue
            for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
                if container.get("image") == IMAGE_PLACEHOLDER:
                    yield f"{where}: container {container['name']} has no image set"
                for variable in container.get("env") or []:
                    if "value" in variable and SECRET_NAME.search(variable["name"]):
                        yield (
                            f"{where}: {variable['name']} is written inline; "
                            "use valueFrom.secretKeyRef"
                        )


# --------------------------------------------------------------------------------------

CHECKS = {
    "locks": check_locks,
    "image": check_image,
    "compose": check_compose,
    "manifests": check_manifests,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in CHECKS:
        print(f"usage: check_deploy.py {{{','.join(CHECKS)}}} [FILE...]", file=sys.stderr)
        return 2
    problems = list(CHECKS[argv[0]](*argv[1:]))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The deployment files, checked without a Docker engine (there is none here): compose.yaml's
invariants, what the Dockerfile builds from, what .dockerignore keeps out, and that the image
installs the library versions these tests run with."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest
import yaml

from tests.conftest import REPO

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|USERS|_KEY$|APIKEY", re.I)
SUBSTITUTION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?+]).*)?\}$")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (REPO / "compose.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)  # merge keys (<<) are resolved, as docker compose does


def _ours(compose: dict) -> dict[str, dict]:
    """The services built from this repository's image."""
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


def test_every_service_that_uses_the_database_waits_for_migrate(compose):
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["db", "upgrade"] and migrate.get("restart") == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    users = [name for name, svc in services.items()
             if "NIANBAO_DATABASE_URL" in (svc.get("environment") or {}) and name != "migrate"]
    assert set(users) >= {"worker", "beat", "web"}
    for name in users:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}, name


def test_every_nianbao_service_shares_the_one_environment(compose, compose_text):
    shared = compose["x-env"]
    for name, svc in _ours(compose).items():
        env = svc["environment"]
        assert {k: env.get(k) for k in shared} == shared, f"{name} drops or changes part of x-env"
    # Written as the anchor, not as a copy that could drift: `environment: *env` or `<<: *env`.
    root = yaml.compose(compose_text, Loader=yaml.SafeLoader)
    top = {k.value: v for k, v in root.value}
    anchor = top["x-env"]
    for key_node, svc_node in top["services"].value:
        fields = {k.value: v for k, v in svc_node.value if isinstance(k, yaml.ScalarNode)}
        if "build" not in fields and "<<" not in fields:
            continue
        env = fields.get("environment")
        if env is None:  # inherited whole from x-nianbao, which must itself use the anchor
            env = {k.value: v for k, v in top["x-nianbao"].value}["environment"]
        merged = env is anchor or any(k.value == "<<" and v is anchor for k, v in getattr(env, "value", []))
        assert merged, f"service {key_node.value}: environment must be *env or merge <<: *env"


def test_no_secret_is_written_in_compose(compose):
    for name, svc in compose["services"].items():
        for var, value in (svc.get("environment") or {}).items():
            value = str(value)
            if SECRET_NAME.search(var):
                assert SUBSTITUTION.match(value), f"{name}: {var} must come from the environment (${{{var}}})"
            credentials = re.search(r"://[^/@\s]*:([^@\s]*)@", value)
            if credentials:
                assert SUBSTITUTION.match(credentials.group(1)), f"{name}: {var} holds a password literal"


def test_the_agencies_file_secrets_reach_every_service(compose):
    """deploy/agencies.yaml names ${VARS} read when a notice is sent: each service must get them."""
    text = "\n".join(line.split(" #")[0] for line in (REPO / "deploy" / "agencies.yaml").read_text(encoding="utf-8")
                     .splitlines() if not line.lstrip().startswith("#"))
    needed = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
    assert needed, "deploy/agencies.yaml is expected to show how a secret is referenced"
    for name, svc in _ours(compose).items():
        assert needed <= set(svc["environment"]), f"{name} lacks {needed - set(svc['environment'])}"


def _dockerfile() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_image_holds_every_package_and_installs_the_tested_versions():
    steps = _dockerfile()
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    copied = {rest.split()[0] for word, rest in steps if word == "COPY"}
    copied |= {p for word, rest in steps if word == "COPY" for p in rest.split()[:-1]}
    missing = {p.split(".")[0] for p in packages} - copied
    assert not missing, f"the Dockerfile does not COPY {missing}"
    assert "constraints.txt" in copied
    installs = [rest for word, rest in steps if word == "RUN" and "pip install" in rest]
    assert installs and all("-c constraints.txt" in r for r in installs)
    env = " ".join(rest for word, rest in steps if word == "ENV")
    assert "LANG=C.UTF-8" in env and "PYTHONUTF8=1" in env  # Chinese output whatever the host's locale
    user = [rest for word, rest in steps if word == "USER"]
    assert user and user[-1] not in ("root", "0")
    base = next(rest for word, rest in steps if word == "FROM")
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert base.startswith("python:" + requires.lstrip(">=~").strip())
    assert "-c constraints.txt" in (REPO / "Makefile").read_text()  # the tests install the same


def test_the_tests_run_with_the_pinned_versions():
    """What the image installs (constraints.txt) is what this environment runs; a stale .venv
    or an unpinned upgrade shows here. Regenerate the file as its header says."""
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    for must in ("selectolax", "pypdfium2", "lxml", "python-docx", "charset-normalizer", "apprise", "tzdata"):
        assert must in pins, f"constraints.txt does not pin {must}"
    wrong = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a platform-specific extra
        if installed != version:
            wrong[name] = (installed, version)
    assert not wrong, f"installed vs constraints.txt: {wrong}; run `make install` (or update the pins)"


def _ignored(patterns: list[str], path: str) -> bool:
    import fnmatch

    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        hit = any(fnmatch.fnmatch(part, pattern.removeprefix("**/")) for part in _prefixes(path)) \
            if pattern.startswith("**/") else any(fnmatch.fnmatch(p, pattern) for p in _prefixes(path))
        if hit:
            ignored = not negate
    return ignored


def _prefixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)] + parts


def test_dockerignore_keeps_out_state_and_keeps_in_what_is_copied():
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for heavy in (".venv", "var", ".git", ".env", "documents/__pycache__", "x.egg-info", ".pytest_cache"):
        assert _ignored(patterns, heavy), f"{heavy} would be sent to the Docker build"
    for word, rest in _dockerfile():
        if word == "COPY":
            for source in rest.split()[:-1]:
                assert not _ignored(patterns, source), f".dockerignore drops {source}, which the Dockerfile copies"

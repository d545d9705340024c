"""The agencies file: the supervisory office and the agencies it watches (admin-edited YAML).

Loaded with yaml's safe composer so every mistake can name its file and line, and every
mistake is reported at once (an admin fixes a file in one pass, not one error per run).
``${NAME}`` references are replaced from the environment, so secrets (SMTP passwords,
robot webhook keys) never sit in the committed file.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from config.polling import read_polling
from config.targets import host_is_local, resolve_private, target_problem

LEVELS = ("government", "department")
SOURCE_KINDS = ("listing", "feed", "document")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MMDD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")

OFFICE_KEYS = {"name": "office name", "notify": "list of notice targets",
               "admins": "notice targets of the admins (parser doubts, delivery failures)"}
TARGET_KEYS = {"url": "an Apprise URL", "kinds": "which notices: " + ", ".join(
    ("deficiency", "reminder", "overdue", "resolution", "missing", "alert", "digest", "admin")),
               "min_severity": "info | warning | error"}
NOTICE_KINDS = ("deficiency", "reminder", "overdue", "resolution", "missing", "alert", "digest", "admin")
SEVERITIES = ("info", "warning", "error")
AGENCY_KEYS = {
    "slug": "short id, lowercase letters, digits and '-'",
    "name": "the agency's name as it signs its reports",
    "level": "government | department",
    "region": "region name (for grouping)",
    "sources": "list of {url, kind}",
    "allowed_hosts": "hosts the fetcher may visit",
    "notify": "list of notice targets",
    "deadline": "local deadline override, MM-DD",
    "rulemaking": "true | false: may it make 规章 (省级 and 设区的市 governments); default: from its name",
    "polling": "polling frequency overrides (config/polling.py)",
}
SOURCE_KEYS = {"url": "http(s) URL", "kind": "listing | feed | document"}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    hint: str = ""
    level: str = "error"  # "warning": the file loads, but something will not work as written
    about: str = ""  # what a warning is about, for who may ignore it ("private_host": the demo and tests allow them)

    def __str__(self) -> str:
        label = "警示：" if self.level == "warning" else ""
        return f"{self.file}:{self.line}: {label}{self.message}" + (f" — {self.hint}" if self.hint else "")


class AgencyFileError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class SourceSpec:
    url: str
    kind: str = "listing"
    line: int = 0  # where the agencies file gives it


@dataclass
class AgencySpec:
    slug: str
    name: str
    level: str
    region: str = ""
    sources: list[SourceSpec] = field(default_factory=list)
    allowed_hosts: list[str] = field(default_factory=list)
    notify: list = field(default_factory=list)  # Apprise URLs, or {url, kinds, min_severity}
    deadline: str | None = None
    polling: dict = field(default_factory=dict)
    rulemaking: bool | None = None  # None: inferred from the name, which may leave it unknown


@dataclass
class Roster:
    office_name: str
    office_notify: list
    agencies: list[AgencySpec]
    admins_notify: list = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # the file loads; these will not work as written
    path: str = ""


class _Reader:
    """Walks the composed YAML nodes, collecting problems instead of stopping at the first."""

    def __init__(self, path: str, env: dict[str, str]):
        self.path = path
        self.env = env
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def problem(self, node: yaml.Node | None, message: str, hint: str = "") -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.path, line, message, hint))

    def warn(self, node: yaml.Node | None, message: str, hint: str = "", about: str = "") -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.warnings.append(Problem(self.path, line, message, hint, level="warning", about=about))

    def mapping(self, node: yaml.Node, what: str, known: dict[str, str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping of keys to values")
            return {}
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(known)
                self.problem(key_node, f"unknown key '{key}' in {what}", hint)
            elif key in out:
                self.problem(key_node, f"'{key}' is given twice in {what}", "keep one")
            else:
                out[key] = value_node
        return out

    def text(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            self.problem(node, f"{what} must be a non-empty text")
            return ""
        return self.expand(node, node.value, what)

    def expand(self, node: yaml.Node, value: str, what: str) -> str:
        """${NAME} from the environment. One that is not set is no error: notice targets keep
        ${NAME} and read it when sending, so the file is checked without the secrets; the
        check says which targets would fail here until it is set."""
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.env:
                target = "notify" in what or "admins" in what
                self.warn(node, f"{what} refers to ${{{name}}}, which is not set in this environment",
                          f"export {name}=… where nianbao runs ("
                          + ("read when a notice is sent: notices to this target fail until it is set)" if target
                             else "read when the file is loaded)"))
                return match.group(0)
            return self.env[name]

        return ENV_REF.sub(sub, value)

    def texts(self, node: yaml.Node, what: str) -> list[str]:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what} must be a list", "write one item per line, each starting with '- '")
            return []
        return [self.text(item, what) for item in node.value]


def _targets(reader: _Reader, node: yaml.Node, what: str) -> list:
    """Notice targets: a plain Apprise URL (every notice), or {url, kinds, min_severity} to route
    only some kinds or severities there. ${ENV} stays unexpanded (expanded when sending)."""
    if not isinstance(node, yaml.SequenceNode):
        reader.problem(node, f"{what} must be a list", "write one target per line, each starting with '- '")
        return []
    out: list = []
    for item in node.value:
        if isinstance(item, yaml.ScalarNode):
            reader.text(item, what)  # checks ${ENV} references
            _check_apprise_url(reader, item, item.value)
            out.append(item.value)
            continue
        keys = reader.mapping(item, f"{what} target", TARGET_KEYS)
        if "url" not in keys:
            reader.problem(item, f"{what} target has no url", "add url: json://… (or mailto://…)")
            continue
        reader.text(keys["url"], f"{what} url")
        _check_apprise_url(reader, keys["url"], keys["url"].value)
        target: dict = {"url": keys["url"].value}
        if "kinds" in keys:
            kinds = reader.texts(keys["kinds"], f"{what} kinds")
            for kind_node, kind in zip(getattr(keys["kinds"], "value", []), kinds):
                if kind not in NOTICE_KINDS:
                    close = difflib.get_close_matches(kind, NOTICE_KINDS, n=1)
                    reader.problem(kind_node, f"unknown notice kind '{kind}'",
                                   f"did you mean '{close[0]}'?" if close else "use: " + ", ".join(NOTICE_KINDS))
            target["kinds"] = kinds
        if "min_severity" in keys:
            severity = reader.text(keys["min_severity"], f"{what} min_severity")
            if severity not in SEVERITIES:
                reader.problem(keys["min_severity"], f"unknown severity '{severity}'", "use info, warning or error")
            target["min_severity"] = severity
        out.append(target)
    return out


def _check_apprise_url(reader: _Reader, node: yaml.Node, url: str) -> None:
    found = target_problem(url, reader.env)
    if found:
        reader.problem(node, *found)


def _source(reader: _Reader, node: yaml.Node, where: str) -> SourceSpec | None:
    keys = reader.mapping(node, where, SOURCE_KEYS)
    if "url" not in keys:
        if isinstance(node, yaml.MappingNode):
            reader.problem(node, f"{where} has no url", "add url: https://…")
        return None
    url = reader.text(keys["url"], f"{where} url")
    parts = urlsplit(url)
    if url and "${" not in url and (parts.scheme not in ("http", "https") or not parts.hostname):
        reader.problem(keys["url"], f"source url '{url}' is not an http(s) URL", "write https://host/path")
    elif url and "${" not in url and host_is_local(parts.hostname or ""):
        reader.warn(keys["url"], f"source url '{url}' is on a private or loopback address",
                    "the fetcher refuses it unless NIANBAO_ALLOW_PRIVATE_HOSTS=1 (demo and tests only)", about="private_host")
    kind = reader.text(keys["kind"], f"{where} kind") if "kind" in keys else "listing"
    if kind and kind not in SOURCE_KINDS:
        reader.problem(keys["kind"], f"unknown source kind '{kind}'", "use one of: " + " | ".join(SOURCE_KINDS))
    return SourceSpec(url=url, kind=kind, line=keys["url"].start_mark.line + 1)


def _check_allowed_hosts(reader: _Reader, node: yaml.Node, hosts: list[str], sources: list[SourceSpec],
                         where: str) -> None:
    """A source no allowed host covers is never fetched (an error); an allowed host that covers
    no source is worth a look (a typo, or where the reports' attachments live)."""
    source_hosts = {(urlsplit(s.url).hostname or "").lower(): s for s in sources if "${" not in s.url}
    source_hosts.pop("", None)
    for host, spec in source_hosts.items():
        if not host_allowed(host, hosts):
            reader.problems.append(Problem(reader.path, spec.line, f"{where}: source host {host} is not in its "
                                           f"allowed_hosts ({', '.join(hosts)}), so it is never fetched",
                                           f"add {host} (or its domain) to allowed_hosts"))
    for item, host in zip(getattr(node, "value", []), hosts):
        if host and not any(host_allowed(h, [host]) for h in source_hosts):
            close = difflib.get_close_matches(host.lower(), source_hosts, n=1)
            reader.warn(item, f"allowed host '{host}' matches none of the sources of {where}",
                        f"did you mean '{close[0]}'?" if close
                        else "fine if reports or attachments are served from it; otherwise remove it")


def host_allowed(host: str, allowed: list[str]) -> bool:
    """As the fetcher decides: an allowed entry covers the host itself and its subdomains."""
    host = host.lower().rstrip(".")
    return any(host == a.lower().rstrip(".") or host.endswith("." + a.lower().rstrip(".")) for a in allowed)


def _agency(reader: _Reader, node: yaml.Node, index: int) -> AgencySpec | None:
    where = f"agency #{index + 1}"
    keys = reader.mapping(node, where, AGENCY_KEYS)
    for required in ("slug", "name", "level", "sources"):
        if required not in keys and isinstance(node, yaml.MappingNode):
            reader.problem(node, f"{where} has no {required}", f"add {required}: ({AGENCY_KEYS[required]})")
    slug = reader.text(keys["slug"], f"{where} slug") if "slug" in keys else ""
    where = f"agency '{slug}'" if slug else where
    if slug and not SLUG.match(slug):
        reader.problem(keys["slug"], f"slug '{slug}' has characters a slug cannot have",
                       "use lowercase letters, digits and '-', e.g. qinghe-fgj")
    level = reader.text(keys["level"], f"{where} level") if "level" in keys else ""
    if level and level not in LEVELS:
        close = difflib.get_close_matches(level, LEVELS, n=1)
        reader.problem(keys["level"], f"unknown level '{level}'",
                       f"did you mean '{close[0]}'?" if close else "use government or department")
    sources = []
    if "sources" in keys:
        if isinstance(keys["sources"], yaml.SequenceNode) and keys["sources"].value:
            for i, item in enumerate(keys["sources"].value):
                spec = _source(reader, item, f"{where} source #{i + 1}")
                if spec:
                    sources.append(spec)
        else:
            reader.problem(keys["sources"], f"{where} sources must be a non-empty list",
                           "- url: https://…/gknb/\n        kind: listing")
    notify = _targets(reader, keys["notify"], f"{where} notify") if "notify" in keys else []
    deadline = None
    if "deadline" in keys:
        deadline = reader.text(keys["deadline"], f"{where} deadline")
        if deadline and not MMDD.match(deadline):
            reader.problem(keys["deadline"], f"deadline '{deadline}' is not MM-DD", "write e.g. '01-31' in quotes")
    rulemaking = None
    if "rulemaking" in keys:
        value = reader.text(keys["rulemaking"], f"{where} rulemaking").lower()
        rulemaking = {"true": True, "yes": True, "false": False, "no": False}.get(value)
        if rulemaking is None and value:
            reader.problem(keys["rulemaking"], f"rulemaking '{value}' is not true or false",
                           "true for a 省级 or 设区的市 government (立法法 第九十三条), else false")
    hosts = reader.texts(keys["allowed_hosts"], f"{where} allowed_hosts") if "allowed_hosts" in keys else []
    if hosts:
        _check_allowed_hosts(reader, keys["allowed_hosts"], hosts, sources, where)
    else:
        hosts = sorted({urlsplit(s.url).hostname or "" for s in sources} - {""})
    return AgencySpec(
        slug=slug,
        name=reader.text(keys["name"], f"{where} name") if "name" in keys else "",
        level=level,
        region=reader.text(keys["region"], f"{where} region") if "region" in keys else "",
        sources=sources,
        allowed_hosts=hosts,
        notify=notify,
        deadline=deadline,
        polling=read_polling(reader, keys["polling"], where) if "polling" in keys else {},
        rulemaking=rulemaking,
    )


def parse_roster(text: str, path: str = "<agencies>", env: dict[str, str] | None = None) -> Roster:
    """Parse the agencies file text; raise AgencyFileError listing every problem."""
    reader = _Reader(path, dict(os.environ) if env is None else env)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise AgencyFileError([Problem(path, line, f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                       "check the indentation and the ':' after each key")]) from None
    if root is None:
        raise AgencyFileError([Problem(path, 1, "the file is empty", "start with 'office:' and 'agencies:'")])
    top = reader.mapping(root, "the file", {"office": "", "agencies": ""})
    office_name, office_notify, admins_notify = "", [], []
    if "office" in top:
        office = reader.mapping(top["office"], "office", OFFICE_KEYS)
        office_name = reader.text(office["name"], "office name") if "name" in office else ""
        if "notify" in office:
            office_notify = _targets(reader, office["notify"], "office notify")
        if "admins" in office:
            admins_notify = _targets(reader, office["admins"], "office admins")
    else:
        reader.problem(root, "no office section", "add office: {name: …, notify: [ … ]}")
    agencies: list[AgencySpec] = []
    if "agencies" in top and isinstance(top["agencies"], yaml.SequenceNode):
        seen: dict[str, int] = {}
        for i, node in enumerate(top["agencies"].value):
            spec = _agency(reader, node, i)
            if spec is None:
                continue
            if spec.slug in seen:
                reader.problem(node, f"slug '{spec.slug}' is used twice (first at line {seen[spec.slug]})",
                               "give every agency its own slug")
            seen.setdefault(spec.slug, node.start_mark.line + 1)
            agencies.append(spec)
    else:
        reader.problem(top.get("agencies", root), "agencies must be a list", "add agencies: followed by '- slug: …' items")
    if reader.problems:
        raise AgencyFileError(sorted(reader.problems + reader.warnings, key=lambda p: p.line))
    return Roster(office_name=office_name, office_notify=office_notify, admins_notify=admins_notify,
                  agencies=agencies, warnings=reader.warnings, path=path)


def dns_warnings(roster: Roster, budget: float = 3.0) -> list[Problem]:
    """Sources whose host name resolves to a private or loopback address (the fetcher refuses
    them unless NIANBAO_ALLOW_PRIVATE_HOSTS); asked of DNS by `agencies check` only."""
    sources = [(a, s) for a in roster.agencies for s in a.sources if "${" not in s.url]
    private = resolve_private([urlsplit(s.url).hostname or "" for _, s in sources if urlsplit(s.url).hostname], budget)
    out = []
    for agency, source in sources:
        host = urlsplit(source.url).hostname or ""
        if host in private and not host_is_local(host):
            out.append(Problem(roster.path, source.line, f"source host {host} of agency '{agency.slug}' resolves to "
                               f"the private or loopback address {private[host]}",
                               "the fetcher refuses it unless NIANBAO_ALLOW_PRIVATE_HOSTS=1", level="warning"))
    return out


def expand_env(value: str, env: dict[str, str] | None = None) -> str:
    """Replace ${NAME} from the environment (at delivery time, so secrets stay out of the database)."""
    env = dict(os.environ) if env is None else env
    return ENV_REF.sub(lambda m: env.get(m.group(1), m.group(0)), value)


def load_roster(path: Path, env: dict[str, str] | None = None) -> Roster:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AgencyFileError([Problem(str(path), 1, "file not found", "set NIANBAO_AGENCIES_FILE")]) from None
    except UnicodeDecodeError as exc:
        raise AgencyFileError([Problem(str(path), 1, f"not UTF-8 text ({exc.reason})", "save it as UTF-8")]) from None
    return parse_roster(text, str(path), env)

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

OFFICE_KEYS = {"name": "政务公开办名称", "notify": "通知接收地址列表",
               "admins": "管理员的通知接收地址（解析存疑、发送失败等）"}
TARGET_KEYS = {"url": "通知服务网址", "kinds": "发往这里的通知类别",
               "min_severity": "'info'（提示）、'warning'（警示）或 'error'（错误）"}
NOTICE_KINDS = ("deficiency", "reminder", "overdue", "resolution", "missing", "alert", "digest", "admin")
SEVERITIES = ("info", "warning", "error")
AGENCY_KEYS = {
    "slug": "单位代码，小写字母、数字和“-”",
    "name": "单位名称，与年报落款一致",
    "level": "'government'（人民政府）或 'department'（政府部门）",
    "region": "所属地区（用于分组）",
    "sources": "年报栏目列表，每项 {url, kind}",
    "allowed_hosts": "允许抓取的主机",
    "notify": "通知接收地址列表",
    "deadline": "本地截止日期，月-日",
    "rulemaking": "'true' 或 'false'：是否有规章制定权（省级和设区的市人民政府）；默认由名称推断",
    "polling": "抓取频率（见 config/polling.py）",
}
SOURCE_KINDS_SAID = "'listing'（年报栏目）、'feed'（订阅源）或 'document'（年报文件）"
SOURCE_KEYS = {"url": "http(s) 网址", "kind": SOURCE_KINDS_SAID}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    hint: str = ""
    level: str = "error"  # "warning": the file loads, but something will not work as written
    about: str = ""  # what a warning is about, for who may ignore it ("private_host": the demo and tests allow them)
    detail: str = ""  # what a library said (Apprise, PyYAML), in English: logs and API only

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

    def problem(self, node: yaml.Node | None, message: str, hint: str = "", detail: str = "") -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.path, line, message, hint, detail=detail))

    def warn(self, node: yaml.Node | None, message: str, hint: str = "", about: str = "") -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.warnings.append(Problem(self.path, line, message, hint, level="warning", about=about))

    def mapping(self, node: yaml.Node, what: str, known: dict[str, str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what}应写成“键: 值”的形式")
            return {}
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"是否应为“{close[0]}”？" if close else "可用的键：" + "、".join(known)
                self.problem(key_node, f"{what}中有不认识的键“{key}”", hint)
            elif key in out:
                self.problem(key_node, f"{what}中“{key}”写了两次", "只保留一处")
            else:
                out[key] = value_node
        return out

    def text(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            self.problem(node, f"{what}不能为空")
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
                self.warn(node, f"{what}引用了 ${{{name}}}，当前环境没有设置",
                          f"请在运行 nianbao 的环境中 export {name}=…（"
                          + ("发送通知时读取：设置之前，发往这个地址的通知都会失败）" if target
                             else "读取名录时读取）"))
                return match.group(0)
            return self.env[name]

        return ENV_REF.sub(sub, value)

    def texts(self, node: yaml.Node, what: str) -> list[str]:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what}应为列表", "每项一行，以“- ”开头")
            return []
        return [self.text(item, what) for item in node.value]


def _targets(reader: _Reader, node: yaml.Node, what: str) -> list:
    """Notice targets: a plain Apprise URL (every notice), or {url, kinds, min_severity} to route
    only some kinds or severities there. ${ENV} stays unexpanded (expanded when sending)."""
    if not isinstance(node, yaml.SequenceNode):
        reader.problem(node, f"{what}应为列表", "每个接收地址一行，以“- ”开头")
        return []
    out: list = []
    for item in node.value:
        if isinstance(item, yaml.ScalarNode):
            reader.text(item, what)  # checks ${ENV} references
            _check_apprise_url(reader, item, item.value)
            out.append(item.value)
            continue
        keys = reader.mapping(item, f"{what}的接收地址", TARGET_KEYS)
        if "url" not in keys:
            reader.problem(item, f"{what}的接收地址缺少 url", "添加 url: json://…（或 mailto://…）")
            continue
        reader.text(keys["url"], f"{what}的 url")
        _check_apprise_url(reader, keys["url"], keys["url"].value)
        target: dict = {"url": keys["url"].value}
        if "kinds" in keys:
            kinds = reader.texts(keys["kinds"], f"{what}的 kinds")
            for kind_node, kind in zip(getattr(keys["kinds"], "value", []), kinds):
                if kind not in NOTICE_KINDS:
                    close = difflib.get_close_matches(kind, NOTICE_KINDS, n=1)
                    reader.problem(kind_node, f"不认识的通知类别“{kind}”",
                                   f"是否应为“{close[0]}”？" if close else "可用：" + "、".join(f"'{k}'" for k in NOTICE_KINDS))
            target["kinds"] = kinds
        if "min_severity" in keys:
            severity = reader.text(keys["min_severity"], f"{what}的 min_severity")
            if severity not in SEVERITIES:
                reader.problem(keys["min_severity"], f"不认识的严重程度“{severity}”", "可用 " + TARGET_KEYS["min_severity"])
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
            reader.problem(node, f"{where}缺少 url", "添加 url: https://…")
        return None
    url = reader.text(keys["url"], f"{where}的 url")
    parts = urlsplit(url)
    if url and "${" not in url and (parts.scheme not in ("http", "https") or not parts.hostname):
        reader.problem(keys["url"], f"年报栏目地址“{url}”不是 http(s) 网址", "写作 https://主机/路径")
    elif url and "${" not in url and host_is_local(parts.hostname or ""):
        reader.warn(keys["url"], f"年报栏目地址“{url}”在内网或本机上",
                    "除非设置 NIANBAO_ALLOW_PRIVATE_HOSTS=1（仅限演示和测试），抓取时会拒绝", about="private_host")
    kind = reader.text(keys["kind"], f"{where}的 kind") if "kind" in keys else "listing"
    if kind and kind not in SOURCE_KINDS:
        reader.problem(keys["kind"], f"不认识的栏目类型“{kind}”", "可用 " + SOURCE_KINDS_SAID)
    return SourceSpec(url=url, kind=kind, line=keys["url"].start_mark.line + 1)


def _check_allowed_hosts(reader: _Reader, node: yaml.Node, hosts: list[str], sources: list[SourceSpec],
                         where: str) -> None:
    """A source no allowed host covers is never fetched (an error); an allowed host that covers
    no source is worth a look (a typo, or where the reports' attachments live)."""
    source_hosts = {(urlsplit(s.url).hostname or "").lower(): s for s in sources if "${" not in s.url}
    source_hosts.pop("", None)
    for host, spec in source_hosts.items():
        if not host_allowed(host, hosts):
            reader.problems.append(Problem(reader.path, spec.line, f"{where}：栏目主机 {host} 不在其 allowed_hosts"
                                           f"（{', '.join(hosts)}）之内，永远不会被抓取",
                                           f"把 {host}（或其域名）加入 allowed_hosts"))
    for item, host in zip(getattr(node, "value", []), hosts):
        if host and not any(host_allowed(h, [host]) for h in source_hosts):
            close = difflib.get_close_matches(host.lower(), source_hosts, n=1)
            reader.warn(item, f"allowed_hosts 中的“{host}”与{where}的任何年报栏目都不对应",
                        f"是否应为“{close[0]}”？" if close
                        else "如果年报或附件放在这个主机上则无妨，否则请删除")


def host_allowed(host: str, allowed: list[str]) -> bool:
    """As the fetcher decides: an allowed entry covers the host itself and its subdomains."""
    host = host.lower().rstrip(".")
    return any(host == a.lower().rstrip(".") or host.endswith("." + a.lower().rstrip(".")) for a in allowed)


def _agency(reader: _Reader, node: yaml.Node, index: int) -> AgencySpec | None:
    where = f"第{index + 1}个单位"
    keys = reader.mapping(node, where, AGENCY_KEYS)
    for required in ("slug", "name", "level", "sources"):
        if required not in keys and isinstance(node, yaml.MappingNode):
            reader.problem(node, f"{where}缺少 {required}", f"添加 {required}:（{AGENCY_KEYS[required]}）")
    slug = reader.text(keys["slug"], f"{where}的 slug") if "slug" in keys else ""
    where = f"单位 {slug}" if slug and SLUG.match(slug) else where
    if slug and not SLUG.match(slug):
        reader.problem(keys["slug"], f"单位代码“{slug}”含有不能用的字符",
                       "只用小写字母、数字和“-”，如 qinghe-fgj")
    level = reader.text(keys["level"], f"{where}的 level") if "level" in keys else ""
    if level and level not in LEVELS:
        close = difflib.get_close_matches(level, LEVELS, n=1)
        reader.problem(keys["level"], f"不认识的级别“{level}”",
                       f"是否应为“{close[0]}”？" if close else "可用 " + AGENCY_KEYS["level"])
    sources = []
    if "sources" in keys:
        if isinstance(keys["sources"], yaml.SequenceNode) and keys["sources"].value:
            for i, item in enumerate(keys["sources"].value):
                spec = _source(reader, item, f"{where}的第{i + 1}个年报栏目")
                if spec:
                    sources.append(spec)
        else:
            reader.problem(keys["sources"], f"{where}的 sources 应为非空列表",
                           "每个栏目写作 '- url: https://…/gknb/'，可加一行 '  kind: listing'")
    notify = _targets(reader, keys["notify"], f"{where}的 notify") if "notify" in keys else []
    deadline = None
    if "deadline" in keys:
        deadline = reader.text(keys["deadline"], f"{where}的 deadline")
        if deadline and not MMDD.match(deadline):
            reader.problem(keys["deadline"], f"截止日期“{deadline}”不是“月-日”", "写作如 '01-31'（加引号）")
    rulemaking = None
    if "rulemaking" in keys:
        value = reader.text(keys["rulemaking"], f"{where}的 rulemaking").lower()
        rulemaking = {"true": True, "yes": True, "false": False, "no": False}.get(value)
        if rulemaking is None and value:
            reader.problem(keys["rulemaking"], f"rulemaking 的值“{value}”不是 'true' 或 'false'",
                           "省级和设区的市人民政府（立法法 第九十三条）写 'true'，其他写 'false'")
    hosts = reader.texts(keys["allowed_hosts"], f"{where}的 allowed_hosts") if "allowed_hosts" in keys else []
    if hosts:
        _check_allowed_hosts(reader, keys["allowed_hosts"], hosts, sources, where)
    else:
        hosts = sorted({urlsplit(s.url).hostname or "" for s in sources} - {""})
    return AgencySpec(
        slug=slug,
        name=reader.text(keys["name"], f"{where}的 name") if "name" in keys else "",
        level=level,
        region=reader.text(keys["region"], f"{where}的 region") if "region" in keys else "",
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
        raise AgencyFileError([Problem(path, line, "不是有效的 YAML，这一行附近的写法无法识别",
                                       "检查缩进（只用空格）和每个键后的“:”；含“: ”或“#”的文字请加引号",
                                       detail=str(getattr(exc, "problem", exc)))]) from None
    if root is None:
        raise AgencyFileError([Problem(path, 1, "文件是空的", "以 office: 和 agencies: 开头")])
    top = reader.mapping(root, "文件顶层", {"office": "", "agencies": ""})
    office_name, office_notify, admins_notify = "", [], []
    if "office" in top:
        office = reader.mapping(top["office"], "office 部分", OFFICE_KEYS)
        office_name = reader.text(office["name"], "office 部分的 name") if "name" in office else ""
        if "notify" in office:
            office_notify = _targets(reader, office["notify"], "office 部分的 notify")
        if "admins" in office:
            admins_notify = _targets(reader, office["admins"], "office 部分的 admins")
    else:
        reader.problem(root, "缺少 office 部分", "添加 office: {name: …, notify: [ … ]}")
    agencies: list[AgencySpec] = []
    if "agencies" in top and isinstance(top["agencies"], yaml.SequenceNode):
        seen: dict[str, int] = {}
        for i, node in enumerate(top["agencies"].value):
            spec = _agency(reader, node, i)
            if spec is None:
                continue
            if spec.slug in seen:
                reader.problem(node, f"单位代码“{spec.slug}”用了两次（第一次在第 {seen[spec.slug]} 行）",
                               "每个单位用自己的代码")
            seen.setdefault(spec.slug, node.start_mark.line + 1)
            agencies.append(spec)
    else:
        reader.problem(top.get("agencies", root), "agencies 应为列表", "在 agencies: 下逐项写“- slug: …”")
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
            out.append(Problem(roster.path, source.line, f"单位 {agency.slug} 的栏目主机 {host} 解析为内网或本机地址 "
                               f"{private[host]}",
                               "除非设置 NIANBAO_ALLOW_PRIVATE_HOSTS=1，抓取时会拒绝", level="warning"))
    return out


def expand_env(value: str, env: dict[str, str] | None = None) -> str:
    """Replace ${NAME} from the environment (at delivery time, so secrets stay out of the database)."""
    env = dict(os.environ) if env is None else env
    return ENV_REF.sub(lambda m: env.get(m.group(1), m.group(0)), value)


def load_roster(path: Path, env: dict[str, str] | None = None) -> Roster:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AgencyFileError([Problem(str(path), 1, "文件不存在", "请设置 NIANBAO_AGENCIES_FILE")]) from None
    except UnicodeDecodeError as exc:
        raise AgencyFileError([Problem(str(path), 1, f"不是 UTF-8 文本（{exc.reason}）", "请另存为 UTF-8")]) from None
    return parse_roster(text, str(path), env)

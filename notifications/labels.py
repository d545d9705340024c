"""The one table of Chinese labels for every code a person might otherwise read: agency states,
levels, severities, notice kinds and statuses, deficiency and finding states, parse and fetch
statuses, rule categories, how firmly a legal basis stands, polling events.

Pages, exports, notices and the CLI all say a code through `label(kind, code)`, so a word is
chosen once. It lives here because notifications is a leaf library (it imports nothing of
ours) that the worker and every entry point may import, and its own templates use it. Field
keys (apply.new.natural …) are labelled beside their definitions, in rules/fields.py.

An unknown code comes back unchanged on purpose: the internal-code test then catches it.
Must not import anything of ours.
"""

from __future__ import annotations

import re

LABELS: dict[str, dict[str, str]] = {
    # where an agency stands for the report year now due (worker/status.py)
    "state": {
        "published": "已按期发布", "late": "逾期发布", "published_late": "逾期发布", "pending": "未到截止日",
        "missing": "逾期未发布",
        "unreachable": "网站无法访问", "ambiguous": "同年多份待确认", "needs_review": "待人工确认",
        "unreadable": "无法读取", "not_scored": "未评分", "not_fetched": "尚未抓取", "processing": "处理中",
        "work_failed": "处理失败",
    },
    "level": {"government": "人民政府", "department": "政府部门"},
    "severity": {"error": "错误", "warning": "警示", "info": "提示"},
    "notice_kind": {
        "deficiency": "整改通知", "alert": "监测提醒", "missing": "催报通知", "reminder": "整改提醒",
        "overdue": "逾期未整改", "resolution": "整改完成", "digest": "监测汇总", "admin": "系统管理",
    },
    "audience": {"agency": "被核查单位", "office": "政务公开办", "admins": "系统管理员"},
    "notice_status": {
        "pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败",
        "unknown": "状态未知", "no_target": "无接收地址",
    },
    "deficiency_state": {"open": "未整改", "resolved": "已整改"},
    "finding_status": {"pass": "符合", "fail": "不符合", "not_evaluated": "未能评估"},
    "parse_status": {
        "pending": "待读取", "parsed": "已读取", "unsupported_format": "文件格式无法读取",
        "needs_ocr": "扫描件，需文字识别", "not_a_report": "不是年度报告", "too_large": "文件过大",
        "unreadable": "文件损坏无法读取", "parse_failed": "读取出错", "needs_review": "待人工确认（单位或年度不符）",
    },
    "report_status": {"discovered": "已发现", "fetched": "已抓取", "fetch_failed": "抓取失败",
                      "ambiguous": "同年多份待确认", "failed": "多次未能完成，已停止"},
    # what a piece of work waits for (worker/reconciler.py, worker/backlog.py)
    "work_stage": {"poll": "待轮询", "fetch": "待抓取", "parse": "待读取", "ocr": "待文字识别", "evaluate": "待评分", "plan": "待生成通知",
                   "deliver": "待发送"},
    "work_state": {"parse": "待读取", "ocr": "待文字识别", "evaluate": "待评分", "plan": "待生成通知", "done": "已完成",
                   "failed": "多次未能完成，已停止"},
    "work_kind": {"report": "年报", "snapshot": "年报文件版本", "evaluation": "评分结果", "notice": "通知"},
    "source_status": {"new": "尚未抓取", "ok": "正常", "failed": "抓取失败"},
    "source_kind": {"listing": "年报栏目", "feed": "订阅源", "document": "年报文件"},
    "basis_status": {"VERIFIED": "已核对原文", "CORROBORATED": "据通行格式", "IMPLIED": "据表格勾稽关系推定",
                     "UNVERIFIED": "仅供参考"},
    "category": {
        "structure": "结构", "format": "表格格式", "arithmetic": "数据勾稽", "timeliness": "时限",
        "text": "文字内容", "fees": "收费", "plausibility": "数据合理性", "cross_year": "跨年度比对",
        "accessibility": "可访问性",
    },
    "event": {
        "unreachable": "网站无法访问", "recovered": "网站恢复访问", "silent_edit": "发布后被修改",
        "backdated": "标注日期早于可见日期", "ambiguous": "同年发现多份", "refused": "拒绝抓取",
    },
    "template": {"2021": "2021年版格式", "2019": "2019年试行格式", "unknown": "未识别格式"},
    "role": {"admin": "管理员", "viewer": "只读"},
    "component": {"agencies": "单位名录", "rules": "规则文件", "database": "数据库", "broker": "任务队列",
                  "reconciler": "遗漏工作巡检"},
}

# A basis that is not verified text is worded as what it is (domain.md §0): an identity implied
# by the table layout is an internal inconsistency, not a quoted requirement.
BASIS_NOTE = {"VERIFIED": "", "IMPLIED": "（据表格勾稽关系推定）", "CORROBORATED": "（据通行格式）",
              "UNVERIFIED": "（仅供参考）"}


def label(kind: str, code) -> str:
    """The Chinese label of a code; "" for an empty code; the code itself when unknown."""
    if code is None or code == "":
        return ""
    return LABELS.get(kind, {}).get(str(code), str(code))


def choices(kind: str) -> list[tuple[str, str]]:
    """(code, label) pairs for a choice list, in the table's order."""
    return list(LABELS[kind].items())


# Reasons a fetch failed, as documents/ words them (English, for the logs), said for people.
_FETCH_REASONS = [
    (re.compile(r"^HTTP (\d{3}) from (\S+)"), lambda m: f"网站返回错误（HTTP {m.group(1)}{_http_hint(m.group(1))}）：{m.group(2)}"),
    (re.compile(r"^timed out fetching (\S+)"), lambda m: f"连接超时：{m.group(1)}"),
    (re.compile(r"^could not reach (\S+?):? "), lambda m: f"无法连接网站：{m.group(1)}"),
    (re.compile(r"^refused (\S+?): .*(allowed hosts|private or loopback)"),
     lambda m: f"地址不在该单位的网站范围内，已拒绝抓取：{m.group(1)}"),
    (re.compile(r"^refused (\S+?):"), lambda m: f"地址无效，已拒绝抓取：{m.group(1)}"),
    (re.compile(r"^(\S+) (is [\d,]+ bytes, over|exceeds) the"), lambda m: f"文件超过大小上限：{m.group(1)}"),
    (re.compile(r"^more than \d+ redirects from (\S+)"), lambda m: f"跳转次数过多：{m.group(1)}"),
    (re.compile(r"^listing page (\S+): (.*)$"), lambda m: f"年报栏目页 {m.group(1)} 未能读取（{fetch_reason(m.group(2))}）"),
    (re.compile(r"^article (\S+): (.*)$"), lambda m: f"年报文章页 {m.group(1)} 未能读取（{fetch_reason(m.group(2))}）"),
    (re.compile(r"^(\d+) new report pages, (\d+) read this time"),
     lambda m: f"发现{m.group(1)}个新的年报页面，本次已读取{m.group(2)}个，其余下次读取"),
    (re.compile(r"^(\d+) documents claim (\d{4}):"), lambda m: f"有{m.group(1)}份文件都标为{m.group(2)}年度报告，需人工确认"),
    (re.compile(r"^(\d+) attachments could be the report"), lambda m: f"文章页有{m.group(1)}个附件都可能是年报，需人工确认"),
    (re.compile(r"^the article shows no report text and no attachment"), lambda m: "文章页既没有年报正文也没有附件"),
]
_HTTP = {"403": "，拒绝访问", "404": "，页面不存在", "410": "，页面已删除", "500": "，网站内部错误",
         "502": "，网关错误", "503": "，网站暂时不可用", "504": "，网关超时"}


def _http_hint(code: str) -> str:
    return _HTTP.get(code, "")


def fetch_reason(reason: str | None) -> str:
    """A fetch or polling reason for people; text already in Chinese passes through."""
    reason = (reason or "").strip()
    if not reason:
        return ""
    for pattern, say in _FETCH_REASONS:
        match = pattern.search(reason)
        if match:
            return say(match)
    if re.search(r"[\u4e00-\u9fff]", reason):
        return reason
    return "抓取未成功"


# Why a piece of work or a notice stopped, as stored (English, for the API and the logs): a
# step's error is "ExceptionType: message" (worker/reconciler.py record_error); a notice's is
# what notifications/delivery.py or the provider said. Said for people by its kind.
_ERROR_KINDS: list[tuple[re.Pattern, str]] = [(re.compile(p, re.I), said) for p, said in (
    # notices (notifications/delivery.py, worker/delivery.py)
    (r"^no notice targets configured|^no target is configured", "没有为这类通知配置接收地址"),
    (r"^not a valid Apprise URL", "通知接收地址无效（可用 nianbao agencies check 检查单位名录）"),
    (r"^the worker stopped between sending and recording",
     "发送后、记录结果前工作进程中断，不知道是否已送达；重发前请向收件人核实"),
    (r"^the mail server refused", "邮件服务器拒收了这条通知"),
    (r"^the notification service refused", "通知服务拒收了这条通知"),
    # a step's exception, by its type
    (r"^(?:\w+\.)*(?:SoftTimeLimitExceeded|TimeLimitExceeded)\b", "处理时间超过上限，已中止"),
    (r"^(?:\w+\.)*WorkerLostError\b", "处理该步骤的工作进程中途退出"),
    (r"^(?:\w+\.)*(?:OperationalError|InterfaceError|DatabaseError|DisconnectionError)\b",
     "数据库暂时无法访问或出错"),
    (r"^(?:\w+\.)*RulesUnavailable\b", "规则文件不可用（请运行 nianbao rules check）"),
    (r"^(?:\w+\.)*MemoryError\b", "内存不足"),
    (r"^(?:\w+\.)*RecursionError\b", "文件结构嵌套过深，超出处理上限"),
    (r"^(?:\w+\.)*(?:UnicodeDecodeError|UnicodeError)\b", "文字编码无法识别"),
    (r"^(?:\w+\.)*(?:FileNotFoundError|PermissionError|IsADirectoryError)\b", "读取存档文件出错（文件缺失或没有权限）"),
    (r"^(?!(?:\w+\.)*[A-Z]\w*(?:Error|Exception)\b).*(?:auth|login|password|credential|\b(?:401|403|535)\b)",
     "通知服务拒绝登录（请检查用户名、密码或令牌）"),
    (r"^(?:\w+\.)*(?:TimeoutError|ReadTimeout|ConnectTimeout|Timeout)\b|timed? ?out", "连接超时"),
    (r"^(?:\w+\.)*(?:ConnectionError|ConnectError|ConnectionRefusedError|ConnectionResetError|RemoteDisconnected)\b"
     r"|refused|unreachable|not known|resolve", "无法连接"),
    (r"^(?:\w+\.)*OSError\b|No space left", "读写文件出错（如磁盘已满）"),
    (r"^(?:\w+\.)*[A-Z]\w*(?:Error|Exception)\b", "程序内部出错"),
)]


def error_said(error: str | None) -> str:
    """Why work stopped or a notice was not delivered, in Chinese (the stored text, English, stays
    in the API and the logs); text already in Chinese passes through."""
    error = (error or "").strip()
    if not error:
        return "原因未记录"
    if re.search(r"[\u4e00-\u9fff]", error) and not re.match(r"^(?:\w+\.)*[A-Z]\w*(?:Error|Exception)\b", error):
        return error
    http = re.search(r"\bHTTP (?:status )?(?:code )?(\d{3})\b|\b(?:status|error) (\d{3})\b", error)
    for pattern, said in _ERROR_KINDS:
        if pattern.search(error):
            return said
    if http:
        return f"通知服务返回错误（HTTP {http.group(1) or http.group(2)}）"
    return "处理时出错（详情见日志）"

"""The FastAPI application: server-rendered pages (Jinja2, autoescaped), the JSON API under
/api/, /healthz and /metrics. Build it with create_app(runtime, accounts)."""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from datetime import date
from pathlib import Path
from typing import Literal, Optional
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from models.db import session_scope
from notifications.dates import cn_date, cn_datetime, days_phrase, relative
from notifications.labels import LABELS, choices, error_said, fetch_reason, label
from rules.explain import explain, group_not_evaluated
from rules.fields import subject_label
from worker.backlog import backlog
from worker.planning import expected_year
from web import actions, exports, overview as views, queries
from web.auth import Accounts, User, accounts_from_env, new_csrf
from web.charts import line_chart
from web.metrics import metrics_response
from web.throttle import Throttle

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
State = Literal["published", "late", "pending", "missing", "unreachable", "ambiguous", "needs_review", "unreadable",
                "not_scored", "not_fetched", "processing", "work_failed"]
Level = Literal["government", "department"]
GRADE_RANK = {"优": 0, "良": 1, "中": 2, "差": 3}
Sort = Literal["slug", "name", "level", "region", "state", "score", "errors", "deadline", "last_fetch"]
Order = Literal["asc", "desc"]
NoticeStatus = Literal["pending", "sending", "sent", "failed", "unknown", "no_target"]
Severity = Literal["error", "warning", "info"]


OVERVIEW_PAGE = 200  # rows per overview page; the exports and the API give every row
MAX_ID = 2**63 - 1  # row ids are 64-bit: a larger number names nothing (and must not reach the driver)
ERROR_TITLES = {400: "请求有误", 401: "需要登录", 403: "无权操作", 404: "未找到", 405: "不支持的操作",
                413: "提交内容过大", 422: "提交的内容不完整或格式不对", 429: "尝试次数过多", 500: "系统出错"}
# Form fields as the pages name them (for the 422 page).
FIELD_NAMES = {"rule_id": "规则编号", "until": "截止日期", "reason": "原因", "agency": "单位", "csrf_token": "校验码",
               "username": "用户名", "password": "密码", "file": "文件名", "content": "规则内容", "year": "年度",
               "page": "页码", "state": "状态", "level": "层级", "sort": "排序", "order": "顺序", "q": "单位名称",
               "snapshot": "版本", "report_id": "年报编号", "notice_id": "通知编号", "status": "状态", "kind": "类型",
               "audience": "对象", "severity": "级别", "region": "地区", "overdue": "只看逾期"}
DOCS_ASSETS = "/docs-assets"  # Swagger UI and ReDoc, served from the fastapi-offline package (no CDN)


class NotSignedIn(Exception):
    pass


class RulesProposal(BaseModel):
    file: str = Field(min_length=1, max_length=80, description="rule file to replace or add, e.g. arithmetic.yaml")
    content: str = Field(max_length=256 * 1024, description="its proposed YAML; empty removes the file")
    year: Optional[int] = Field(default=None, ge=2000, le=2100,
                                description="only the reports on this year (default: every year)")


class SilenceIn(BaseModel):
    rule_id: str = Field(min_length=1, max_length=64)
    until: date
    reason: str = Field(min_length=1, max_length=500)
    agency: Optional[str] = Field(default=None, max_length=200, description="agency slug; omit for every agency")


# What an admin types, inside a rule file problem: the file:line it starts with, and the YAML
# quoted as written ('severity', 'apply.new.total'). Shown as code; the sentence around it is Chinese.
_TYPED = re.compile(r"^[ \t]*\S+?\.ya?ml(?::\d+)?(?=: )|'[^'\n]*'", re.M)


def typed(text: str | None) -> Markup:
    """A rule file problem (rules/wording.py) escaped, with what the admin types marked as code."""
    text, out, last = text or "", [], 0
    for m in _TYPED.finditer(text):
        out += [escape(text[last:m.start()]), Markup('<code class="code">'), escape(m.group(0)), Markup("</code>")]
        last = m.end()
    return Markup("").join([*out, escape(text[last:])])


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"], default=True))
    env.globals.update(state_labels=queries.STATE_LABELS, severity_labels=queries.SEVERITY_LABELS,
                       notice_status_labels=queries.NOTICE_STATUS_LABELS, level_labels=queries.LEVEL_LABELS,
                       column_labels=queries.COLUMN_LABELS, urlencode=urlencode, labels=LABELS, choices=choices,
                       region_href=views.region_href)
    # Every code a person reads goes through the one table of labels (notifications/labels.py).
    env.filters.update(label=lambda code, kind: label(kind, code), cn_date=cn_date, cn_datetime=cn_datetime,
                       days=days_phrase, subject=subject_label, fetch_reason=fetch_reason,
                       date_of=lambda value: date.fromisoformat(str(value)[:10]), typed=typed,
                       error_said=error_said)
    return env


def create_app(runtime=None, accounts: Accounts | None = None, secret: str | None = None,
               secure_cookies: bool | None = None) -> FastAPI:
    from worker.runtime import get_runtime

    rt = runtime or get_runtime()
    accounts = accounts if accounts is not None else accounts_from_env()
    secret = secret or os.environ.get("NIANBAO_WEB_SECRET") or secrets.token_urlsafe(32)
    if secure_cookies is None:
        secure_cookies = os.environ.get("NIANBAO_WEB_SECURE_COOKIES", "") in ("1", "true", "yes")
    env = _env()
    # /docs and /redoc are served from the package's own copy of Swagger UI / ReDoc: a government
    # intranet cannot reach a CDN (FastAPI's self-hosting recipe, assets from fastapi-offline).
    app = FastAPI(title="nianbao", description="政府信息公开工作年度报告监测：看板与 API", version="1",
                  docs_url=None, redoc_url=None)
    env.filters["ago"] = lambda value: relative(value, rt.now())  # 3 小时前, on the runtime's clock
    throttle = Throttle()
    app.state.throttle = throttle
    app.state.runtime, app.state.accounts = rt, accounts
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="nianbao_session",
                       same_site="lax", https_only=secure_cookies, max_age=12 * 3600)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Nothing is loaded from elsewhere; the API browsers need their inline start-up script.
        scripts = "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; " if request.url.path in (
            "/docs", "/redoc") else ""
        response.headers.setdefault("Content-Security-Policy",
                                    f"default-src 'self'; {scripts}style-src 'self' 'unsafe-inline'; "
                                    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    # ---- who is asking -------------------------------------------------------------------
    def optional_user(request: Request) -> User | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = accounts.by_token(header[7:].strip())
            if user is None:
                raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})
            request.state.via_token = True
            return user
        data = request.session.get("user")
        if data and data.get("name") in accounts.passwords:
            role = accounts.passwords[data["name"]][1]  # the role as configured now, not at sign-in
            return User(data["name"], role)
        return None

    def page_user(request: Request) -> User:
        user = optional_user(request)
        if user is None:
            raise NotSignedIn()
        return user

    def api_user(request: Request) -> User:
        user = optional_user(request)
        if user is None:
            raise HTTPException(401, "sign in or send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"})
        return user

    def api_admin(request: Request, user: User = Depends(api_user)) -> User:
        if not getattr(request.state, "via_token", False):
            sent = request.headers.get("x-csrf-token", "")
            if not sent or not secrets.compare_digest(sent, request.session.get("csrf", "")):
                raise HTTPException(403, "missing or wrong X-CSRF-Token header")
        if not user.is_admin:
            raise HTTPException(403, "admin role required")
        return user

    def csrf_of(request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = new_csrf()
        return request.session["csrf"]

    def check_csrf(request: Request, token: str) -> None:
        expected = request.session.get("csrf", "")
        if not token or not expected or not secrets.compare_digest(token, expected):
            raise HTTPException(403, "CSRF 校验失败，请刷新页面后重试")

    def form_admin(request: Request, user: User, token: str) -> None:
        check_csrf(request, token)
        if not user.is_admin:
            raise HTTPException(403, "需要管理员权限")

    @app.exception_handler(NotSignedIn)
    async def to_login(request: Request, exc: NotSignedIn):
        return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)

    def wants_html(request: Request) -> bool:
        path = request.url.path
        return not (path.startswith("/api/") or path in ("/healthz", "/metrics", "/openapi.json"))

    def error_page(request: Request, status: int, message: str, headers: dict | None = None) -> HTMLResponse:
        response = render(request, "error.html", {"message": message, "user": None, "status": status,
                                                  "title": ERROR_TITLES.get(status, "出错")}, status=status)
        response.headers.update(headers or {})
        return response

    @app.exception_handler(queries.NotFound)
    async def not_found(request: Request, exc: queries.NotFound):
        if not wants_html(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return error_page(request, 404, f"{exc}。")

    # Pages and forms answer in Chinese HTML; the API keeps FastAPI's JSON errors.
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if not wants_html(request):
            return await http_exception_handler(request, exc)
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else "没有这个页面"
        return error_page(request, exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        if not wants_html(request):
            return await request_validation_exception_handler(request, exc)
        wrong = "、".join(dict.fromkeys(FIELD_NAMES.get(str(e["loc"][-1]), "其他内容")
                                         for e in exc.errors() if e.get("loc"))) or "请求"
        return error_page(request, 422, f"以下内容缺失或格式不对：{wrong}。请返回上一页检查后重新提交。")

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):
        # Starlette re-raises after this answer, so the server logs the traceback once.
        if not wants_html(request):
            return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)
        return error_page(request, 500, "系统处理这个请求时出错，已记录在日志中。请稍后重试，或联系系统管理员。")

    def render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
        flashed = request.session.pop("flash", None)
        if isinstance(flashed, str):
            flashed = {"text": flashed, "bad": False}
        context = {"request": request, "csrf": csrf_of(request), "today": rt.today(),
                   "flash": flashed["text"] if flashed else None, "flash_bad": bool(flashed and flashed["bad"]),
                   **context}
        return HTMLResponse(env.get_template(name).render(context), status_code=status)

    def flash(request: Request, message: str, *, bad: bool = False) -> None:
        request.session["flash"] = {"text": message, "bad": bad}

    def back(request: Request, fallback: str) -> RedirectResponse:
        target = request.headers.get("referer", "")
        base = str(request.base_url)
        path = target[len(base) - 1:] if target.startswith(base) else fallback
        return RedirectResponse(path if path.startswith("/") and not path.startswith("//") else fallback, status_code=303)

    # ---- sign in -------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/"):
        return render(request, "login.html", {"user": None, "next": next, "error": None})

    @app.post("/login", include_in_schema=False)
    def login(request: Request, username: str = Form(...), password: str = Form(...), csrf_token: str = Form(""),
              next: str = Form("/")):
        check_csrf(request, csrf_token)
        address = request.client.host if request.client else "unknown"
        wait = throttle.locked_for(username, address)
        if wait:
            log.warning("sign-in refused while locked: user=%r address=%s (%d s left)", username, address, wait)
            minutes = max(1, -(-int(wait) // 60))
            return render(request, "login.html", {"user": None, "next": next, "error":
                          f"登录失败次数过多，已暂时锁定。请在 {minutes} 分钟后再试。"}, status=429)
        user = accounts.login(username, password)
        if user is None:
            throttle.failed(username, address)
            return render(request, "login.html", {"user": None, "next": next, "error": "用户名或密码错误"}, status=401)
        throttle.succeeded(username)
        request.session.clear()
        request.session.update(user={"name": user.name}, csrf=new_csrf())
        safe = next if next.startswith("/") and not next.startswith("//") else "/"
        return RedirectResponse(safe, status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf_token: str = Form("")):
        check_csrf(request, csrf_token)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # ---- pages ---------------------------------------------------------------------------
    def checked_id(value: int | None, what: str) -> int | None:
        if value is not None and not 1 <= value <= MAX_ID:
            raise queries.NotFound(f"没有编号为 {value} 的{what}")
        return value

    def add_texts(rows: list[dict]) -> list[dict]:
        for r in rows:
            r["fetch_text"] = exports.fetch_text(r.get("fetch"))
        return rows

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview_page(request: Request, user: User = Depends(page_user), state: Optional[State] = None,
                      level: Optional[Level] = None, region: Optional[str] = Query(None, max_length=100),
                      q: Optional[str] = Query(None, max_length=100), sort: Sort = "slug", order: Order = "asc",
                      page: int = Query(1, ge=1, le=10_000)):
        today = rt.today()
        year = expected_year(today)
        with session_scope(rt.db_url) as session:
            every = queries.overview(session, today)
            board = queries.open_board(session, today, year, limit=8)
            board_total = queries.open_count(session, year)
            office = queries.office_name(session)
            work = backlog(session, rt.settings, reference_now=rt.now())
        rows = queries.filter_rows(list(every), state=state, level=level, region=region, q=q, sort=sort,
                                   desc=order == "desc")
        pages = max(1, -(-len(rows) // OVERVIEW_PAGE))
        page = min(page, pages)
        # The league ranks by grade first: a score the rules could only partly earn (low coverage,
        # graded 中 at best) must not top it.
        league = sorted((r for r in every if r["score"] is not None),
                        key=lambda r: (GRADE_RANK.get(r["grade"], len(GRADE_RANK)), -r["score"], -(r["coverage"] or 0)))[:10]
        counts: dict[str, int] = {}
        for r in every:
            counts[r["state"]] = counts.get(r["state"], 0) + 1
        unpublished = sorted((r for r in every if r["state"] in ("missing", "unreachable")),
                             key=lambda r: r["days_to_deadline"])
        by_region = views.regions(every)
        params = {k: v for k, v in {"state": state, "level": level, "region": region, "q": q}.items() if v}
        return render(request, "overview.html", {
            "user": user, "rows": add_texts(rows[(page - 1) * OVERVIEW_PAGE:page * OVERVIEW_PAGE]), "matched": len(rows),
            "page": page, "pages": pages, "league": league, "counts": counts, "params": params, "sort": sort,
            "order": order, "regions": sorted({r["region"] for r in every if r["region"]}), "year": year,
            "office": office, "countdowns": views.countdowns(every, year, today), "s": views.summary(every),
            "board": board, "board_total": board_total, "unpublished": unpublished[:8],
            "unpublished_total": len(unpublished), "by_region": by_region, "charts": views.charts(every, by_region),
            "state_choices": choices("state"), "level_choices": choices("level"), "work": work})

    @app.get("/deficiencies", response_class=HTMLResponse, include_in_schema=False)
    def deficiencies_page(request: Request, user: User = Depends(page_user), severity: Optional[Severity] = None,
                          region: Optional[str] = Query(None, max_length=100), overdue: bool = False):
        """Every open deficiency across agencies, like an alert list: overdue first, by severity and date."""
        today = rt.today()
        year = expected_year(today)
        with session_scope(rt.db_url) as session:
            board = queries.open_board(session, today, year, severity=severity, region=region, overdue_only=overdue)
            every = queries.overview(session, today)
        groups = []
        for key, title in (("overdue", "已逾期未整改"), ("error", "错误"), ("warning", "警示"), ("info", "提示")):
            items = [d for d in board if (d["overdue"] if key == "overdue" else not d["overdue"] and d["severity"] == key)]
            if items:
                groups.append({"key": key, "title": title, "cases": items})
        params = {k: v for k, v in {"severity": severity, "region": region, "overdue": "1" if overdue else None}.items() if v}
        return render(request, "deficiencies.html", {
            "user": user, "groups": groups, "total": len(board), "year": year, "params": params,
            "regions": sorted({r["region"] for r in every if r["region"]})})

    @app.get("/regions/{name}", response_class=HTMLResponse, include_in_schema=False)
    def region_page(request: Request, name: str, user: User = Depends(page_user)):
        """A region's agencies side by side, and its figures against the other regions'."""
        today = rt.today()
        year = expected_year(today)
        with session_scope(rt.db_url) as session:
            every = queries.overview(session, today)
            region = "" if name == views.NO_REGION else name
            mine = [r for r in every if r["region"] == region]
            if not mine:
                raise queries.NotFound(f"没有“{name}”这个地区")
            history = queries.score_history(session, [r["agency_id"] for r in mine])
            board = queries.open_board(session, today, year, region=region) if region else [
                d for d in queries.open_board(session, today, year) if not d["region"]]
        by_region = views.regions(every)
        me = next(g for g in by_region if g["region"] == name)
        scored = [g["mean_score"] for g in by_region if g["mean_score"] is not None]
        rates = [g["on_time_rate"] for g in by_region if g["on_time_rate"] is not None]
        return render(request, "region.html", {
            "user": user, "name": name, "year": year, "rows": add_texts(sorted(mine, key=lambda r: r["name"])),
            "me": me, "by_region": by_region, "charts": views.charts(every, by_region, highlight=name),
            "agencies_chart": views.agencies_chart(mine), "board": board,
            "all_mean": round(sum(scored) / len(scored), 1) if scored else None,
            "all_rate": round(sum(rates) / len(rates)) if rates else None,
            "trends": {r["slug"]: history.get(r["agency_id"], []) for r in mine}})

    @app.get("/agencies/{slug}", response_class=HTMLResponse, include_in_schema=False)
    def agency_page(request: Request, slug: str, user: User = Depends(page_user)):
        today = rt.today()
        with session_scope(rt.db_url) as session:
            detail = queries.agency_detail(session, slug, today)
            expectation = queries.expectation(session, detail["agency"]["id"], expected_year(today))
        trend = line_chart("历年得分", [(f"{t['year']}年", t["score"]) for t in detail["trend"]]) if detail["trend"] else None
        return render(request, "agency.html", {"user": user, **detail, "expectation": expectation,
                                               "year": expected_year(today), "trend_chart": trend})

    @app.get("/reports/{report_id}", response_class=HTMLResponse, include_in_schema=False)
    def report_page(request: Request, report_id: int, snapshot: Optional[int] = None, user: User = Depends(page_user)):
        checked_id(report_id, "年报")
        checked_id(snapshot, "版本")
        with session_scope(rt.db_url) as session:
            detail = queries.report_detail(session, report_id, snapshot)
        failures, unsure = [], []
        for f in detail["findings"]:
            explained = explain(f)
            f.update(lines=explained.lines, basis_text=explained.basis, subject_label=subject_label(f["subject"]))
            (failures if f["status"] == "fail" else unsure).append(f)
        # The sections table agrees with the rules: a heading with nothing under it is not "present".
        empty = {f["subject"] for f in failures if f["rule_id"] == "STR-01"} | {
            s["key"] for s in detail["sections"] if s.get("present") and not s.get("chars")}
        for s in detail["sections"]:
            s["state"] = "缺失" if not s.get("present") else "内容为空" if s["key"] in empty else "具备"
        return render(request, "report.html", {"user": user, **detail, "failures": failures,
                                               "unsure_groups": group_not_evaluated(unsure), "unsure_count": len(unsure),
                                               "problems_text": queries.problems_text(detail["problems"])})

    @app.get("/reports/{report_id}/original", include_in_schema=False)
    def original(report_id: int, snapshot: Optional[int] = None, user: User = Depends(page_user)):
        checked_id(report_id, "年报")
        checked_id(snapshot, "版本")
        with session_scope(rt.db_url) as session:
            detail = queries.report_detail(session, report_id, snapshot)
        snap = detail["snapshot"]
        if snap is None:
            raise HTTPException(404, "这份年报还没有抓取到的版本")
        try:
            data = rt.blobs.get(snap["sha256"])
        except FileNotFoundError:
            raise HTTPException(404, "原件不在存储中")
        media_type = snap["content_type"] or "application/octet-stream"
        if media_type.startswith("text/") and "charset=" not in media_type.lower():
            # Say the charset the reader found (GBK pages often declare none): otherwise the
            # browser is told UTF-8 and shows mojibake.
            media_type += f"; charset={detail['meta'].get('charset') or 'utf-8'}"
        # The agency's page runs in a sandbox: never with our origin's cookies or scripts.
        return Response(data, headers={
            "Content-Type": media_type,
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
            "Content-Disposition": f'inline; filename="report-{report_id}-{snap["sha256"][:12]}"'})

    @app.get("/notices", response_class=HTMLResponse, include_in_schema=False)
    def notices_page(request: Request, user: User = Depends(page_user), status: Optional[NoticeStatus] = None,
                     kind: Optional[str] = Query(None, max_length=40), audience: Optional[str] = Query(None, max_length=40),
                     agency: Optional[str] = Query(None, max_length=200), page: int = Query(1, ge=1, le=10_000)):
        with session_scope(rt.db_url) as session:
            agencies = queries.agency_choices(session)
            # The agency is chosen from a list by its Chinese name; a name typed into the URL works too.
            slug = next((a for a, n in agencies if agency in (a, n)), None) if agency else None
            rows = [] if agency and slug is None else queries.notices(
                session, status=status, kind=kind, audience=audience, agency=slug, limit=100, offset=(page - 1) * 100)
            counts = queries.metrics_snapshot(session)["notices"]
        params = {k: v for k, v in {"status": status, "kind": kind, "audience": audience, "agency": slug or agency}.items() if v}
        return render(request, "notices.html", {"user": user, "rows": rows, "counts": counts, "params": params,
                                                "page": page, "agencies": agencies,
                                                "unknown_agency": agency if agency and slug is None else None})

    @app.get("/notices/{notice_id}", response_class=HTMLResponse, include_in_schema=False)
    def notice_page(request: Request, notice_id: int, user: User = Depends(page_user)):
        checked_id(notice_id, "通知")
        with session_scope(rt.db_url) as session:
            notice = queries.notice_detail(session, notice_id)
        return render(request, "notice.html", {"user": user, "n": notice})

    @app.get("/silences", response_class=HTMLResponse, include_in_schema=False)
    def silences_page(request: Request, user: User = Depends(page_user)):
        """Every silence, who set it and why; the active ones first."""
        with session_scope(rt.db_url) as session:
            rows = queries.all_silences(session, rt.today())
            agencies = queries.agency_choices(session)
        return render(request, "silences.html", {"user": user, "rows": rows, "agencies": agencies})

    def rules_context(user: User, file: str, content: str | None, **extra) -> dict:
        ruleset, error = _ruleset(rt)
        return {"user": user, "ruleset": ruleset, "error": error, "files": actions.rule_file_names(rt),
                "file": file, "content": actions.rule_file_text(rt, file) if content is None else content,
                "year": expected_year(rt.today()),
                "diff": None, "diff_error": None, **extra}

    @app.get("/rules", response_class=HTMLResponse, include_in_schema=False)
    def rules_page(request: Request, user: User = Depends(page_user),
                   file: str = Query("", max_length=80, description="a rule file to start a proposed change from")):
        return render(request, "rules.html", rules_context(user, file, None))

    @app.post("/rules/diff", response_class=HTMLResponse, include_in_schema=False)
    def rules_diff_form(request: Request, user: User = Depends(page_user), csrf_token: str = Form(""),
                        file: str = Form(..., max_length=80), content: str = Form("", max_length=256 * 1024),
                        year: int = Form(..., ge=2000, le=2100)):
        form_admin(request, user, csrf_token)
        try:
            diff = actions.preview_rules(rt, file, content, year)
        except actions.ActionError as exc:
            return render(request, "rules.html", rules_context(user, file, content, diff_error=str(exc)),
                          status=exc.status)
        return render(request, "rules.html", rules_context(user, file, content, diff=diff))

    # ---- admin actions (forms) -----------------------------------------------------------
    @app.post("/actions/silence", include_in_schema=False)
    def silence_form(request: Request, user: User = Depends(page_user), csrf_token: str = Form(""),
                     rule_id: str = Form(...), until: date = Form(...), reason: str = Form(...),
                     agency: str = Form("")):
        form_admin(request, user, csrf_token)
        try:
            actions.silence(rt, rule_id=rule_id, until=until, reason=reason, by=user.name, agency_slug=agency or None)
            flash(request, f"已静默规则 {rule_id}：{cn_date(until)}前不再就此发送通知（问题仍列在汇总中）。")
        except actions.ActionError as exc:
            flash(request, f"未能静默：{exc}。", bad=True)
        return back(request, "/")

    @app.post("/actions/notices/{notice_id}/ack", include_in_schema=False)
    def ack_form(request: Request, notice_id: int, user: User = Depends(page_user), csrf_token: str = Form("")):
        form_admin(request, user, csrf_token)
        if actions.acknowledge(rt, notice_id, user.name):
            flash(request, f"通知 {notice_id} 已确认。")
        else:
            flash(request, f"通知 {notice_id} 不存在或已确认。", bad=True)
        return back(request, "/notices")

    @app.post("/actions/notices/{notice_id}/resend", include_in_schema=False)
    def resend_form(request: Request, notice_id: int, user: User = Depends(page_user), csrf_token: str = Form("")):
        form_admin(request, user, csrf_token)
        try:
            result = actions.resend(rt, notice_id)
            if "enqueued" in result:
                flash(request, f"通知 {notice_id} 已交给后台发送，稍后刷新页面查看结果。")
            else:
                with session_scope(rt.db_url) as session:
                    status = queries.notice_detail(session, notice_id)["status"]
                flash(request, f"通知 {notice_id} 重新发送的结果：{label('notice_status', status)}。", bad=status != "sent")
        except actions.ActionError as exc:
            flash(request, f"未能重发：{exc}。", bad=True)
        return back(request, "/notices")

    @app.post("/actions/agencies/{slug}/repoll", include_in_schema=False)
    def repoll_form(request: Request, slug: str, user: User = Depends(page_user), csrf_token: str = Form("")):
        form_admin(request, user, csrf_token)
        try:
            result = actions.repoll(rt, slug)
            if "enqueued" in result:
                flash(request, f"已交给后台重新抓取 {result['enqueued']} 个来源，稍后刷新页面查看结果。")
            else:
                failed = [s for s in result.get("sources", []) if s["status"] == "failed"]
                if failed or result.get("errors"):
                    said = "；".join(fetch_reason(s["reason"]) for s in failed) or "抓取过程出错，详见日志"
                    flash(request, f"重新抓取未成功：{said}。", bad=True)
                else:
                    found = result.get("steps", {}).get("fetch_report", 0)
                    flash(request, f"已重新抓取 {len(result.get('sources', []))} 个来源"
                                   + (f"，下载了 {found} 份年报。" if found else "，没有发现新的年报或修改。"))
        except actions.ActionError as exc:
            flash(request, f"未能重新抓取：{exc}。", bad=True)
        return back(request, f"/agencies/{slug}")

    @app.post("/actions/rescore", include_in_schema=False)
    def rescore_form(request: Request, user: User = Depends(page_user), csrf_token: str = Form(""),
                     agency: str = Form("")):
        form_admin(request, user, csrf_token)
        try:
            result = actions.rescore(rt, agency or None)
            if "enqueued" in result:
                flash(request, f"已交给后台按当前规则重新评分 {result['enqueued']} 份年报，稍后刷新页面查看结果。")
            else:
                scored = result.get("steps", {}).get("evaluate", 0)
                errors = result.get("errors") or []
                for error in errors:
                    log.warning("rescore from the dashboard: %s", error)
                flash(request, f"已按当前规则重新评分 {scored} 份年报" + (f"，其中 {len(errors)} 份出错，详见日志。" if errors
                                                                     else "。"), bad=bool(errors))
        except actions.ActionError as exc:
            flash(request, f"未能重新评分：{exc}。", bad=True)
        return back(request, "/")

    # ---- API -----------------------------------------------------------------------------
    @app.get("/api/status", tags=["api"])
    def api_status(user: User = Depends(api_user)):
        from worker.status import health

        ruleset, error = _ruleset(rt)
        from worker.backlog import backlog

        with session_scope(rt.db_url) as session:
            return {"today": rt.today().isoformat(), "ruleset_version": getattr(ruleset, "version", None),
                    "rules_error": error, "health": health(session),
                    "work": backlog(session, rt.settings, reference_now=rt.now()).as_dict(),
                    **queries.metrics_snapshot(session)}

    @app.get("/api/agencies", tags=["api"])
    def api_agencies(user: User = Depends(api_user), state: Optional[State] = None, level: Optional[Level] = None,
                     region: Optional[str] = Query(None, max_length=100), q: Optional[str] = Query(None, max_length=100),
                     sort: Sort = "slug", order: Order = "asc"):
        with session_scope(rt.db_url) as session:
            rows = queries.overview(session, rt.today(), state=state, level=level, region=region, q=q, sort=sort,
                                    desc=order == "desc")
        # The rows are plain JSON already; FastAPI's jsonable_encoder would walk all of them again.
        return JSONResponse(rows)

    def export_rows(state, level, region, q, sort, order) -> tuple[list[dict], list[dict]]:
        """The filtered rows for an export, and the roll-up by region of every agency."""
        with session_scope(rt.db_url) as session:
            every = queries.overview(session, rt.today())
        rows = queries.filter_rows(list(every), state=state, level=level, region=region, q=q, sort=sort,
                                   desc=order == "desc")
        return exports.prepare(rows), views.regions(every)

    @app.get("/api/agencies.csv", tags=["api"], response_class=PlainTextResponse)
    def api_agencies_csv(user: User = Depends(api_user), state: Optional[State] = None, level: Optional[Level] = None,
                         region: Optional[str] = Query(None, max_length=100),
                         q: Optional[str] = Query(None, max_length=100), sort: Sort = "slug", order: Order = "asc"):
        """The overview as CSV for Excel (UTF-8 with BOM, Chinese headers and labels), same filters as /api/agencies."""
        rows, _ = export_rows(state, level, region, q, sort, order)
        return Response(exports.csv_text(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="overview.csv"'})

    @app.get("/api/regions.csv", tags=["api"], response_class=PlainTextResponse)
    def api_regions_csv(user: User = Depends(api_user)):
        """The roll-up by region as CSV: agencies, on time, late, missing, on-time rate, mean score, open and overdue."""
        _, by_region = export_rows(None, None, None, None, "slug", "asc")
        return Response(exports.regions_csv(by_region), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="regions.csv"'})

    @app.get("/api/agencies.xlsx", tags=["api"], response_class=Response,
             responses={200: {"content": {XLSX: {}}, "description": "the overview as an Excel workbook"}})
    def api_agencies_xlsx(user: User = Depends(api_user), state: Optional[State] = None, level: Optional[Level] = None,
                          region: Optional[str] = Query(None, max_length=100),
                          q: Optional[str] = Query(None, max_length=100), sort: Sort = "slug", order: Order = "asc"):
        """The overview as an Excel workbook (a sheet of agencies, same filters as /api/agencies, and the roll-up by region)."""
        rows, by_region = export_rows(state, level, region, q, sort, order)
        data = exports.xlsx_bytes(rows, by_region, expected_year(rt.today()))
        return Response(data, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="overview.xlsx"'})

    @app.get("/api/agencies/{slug}", tags=["api"])
    def api_agency(slug: str, user: User = Depends(api_user)):
        with session_scope(rt.db_url) as session:
            return queries.agency_detail(session, slug, rt.today())

    @app.get("/api/reports", tags=["api"])
    def api_reports(user: User = Depends(api_user), agency: Optional[str] = Query(None, max_length=200),
                    year: Optional[int] = Query(None, ge=2000, le=2100), limit: int = Query(100, ge=1, le=1000),
                    offset: int = Query(0, ge=0)):
        with session_scope(rt.db_url) as session:
            return queries.reports(session, agency=agency, year=year, limit=limit, offset=offset)

    @app.get("/api/reports/{report_id}", tags=["api"])
    def api_report(report_id: int, user: User = Depends(api_user), snapshot: Optional[int] = None):
        checked_id(report_id, "年报")
        checked_id(snapshot, "版本")
        with session_scope(rt.db_url) as session:
            return queries.report_detail(session, report_id, snapshot)

    @app.get("/api/findings", tags=["api"])
    def api_findings(user: User = Depends(api_user), agency: Optional[str] = Query(None, max_length=200),
                     rule: Optional[str] = Query(None, max_length=64), severity: Optional[Severity] = None,
                     status: Optional[Literal["fail", "not_evaluated"]] = None, limit: int = Query(200, ge=1, le=5000)):
        with session_scope(rt.db_url) as session:
            return queries.findings(session, agency=agency, rule=rule, severity=severity, status=status, limit=limit)

    @app.get("/api/notices", tags=["api"])
    def api_notices(user: User = Depends(api_user), status: Optional[NoticeStatus] = None,
                    kind: Optional[str] = Query(None, max_length=40), audience: Optional[str] = Query(None, max_length=40),
                    agency: Optional[str] = Query(None, max_length=200), limit: int = Query(100, ge=1, le=1000),
                    offset: int = Query(0, ge=0)):
        with session_scope(rt.db_url) as session:
            return queries.notices(session, status=status, kind=kind, audience=audience, agency=agency,
                                   limit=limit, offset=offset)

    @app.get("/api/notices/{notice_id}", tags=["api"])
    def api_notice(notice_id: int, user: User = Depends(api_user)):
        with session_scope(rt.db_url) as session:
            return queries.notice_detail(session, notice_id)

    @app.post("/api/silences", tags=["api"], status_code=201)
    def api_silence(body: SilenceIn, user: User = Depends(api_admin)):
        try:
            silence_id = actions.silence(rt, rule_id=body.rule_id, until=body.until, reason=body.reason, by=user.name,
                                         agency_slug=body.agency)
        except actions.ActionError as exc:
            raise HTTPException(400, str(exc))
        return {"id": silence_id}

    @app.post("/api/rules/diff", tags=["api"])
    def api_rules_diff(body: RulesProposal, user: User = Depends(api_admin)):
        """What replacing (or adding, or with empty content removing) one rule file would change:
        each report's current version scored with the current and the proposed rules. Nothing is saved."""
        try:
            return actions.preview_rules(rt, body.file, body.content, body.year)
        except actions.ActionError as exc:  # 422 with every problem as file:line: what — fix, and by code
            if exc.problems:
                return JSONResponse({"detail": str(exc), "problems": exc.problems}, status_code=exc.status)
            raise HTTPException(exc.status, str(exc))

    @app.post("/api/notices/{notice_id}/ack", tags=["api"])
    def api_ack(notice_id: int, user: User = Depends(api_admin)):
        if not actions.acknowledge(rt, notice_id, user.name):
            raise HTTPException(409, "no such notice, or already acknowledged")
        return {"ok": True}

    @app.post("/api/notices/{notice_id}/resend", tags=["api"])
    def api_resend(notice_id: int, user: User = Depends(api_admin)):
        try:
            result = actions.resend(rt, notice_id)
        except actions.ActionError as exc:
            raise HTTPException(409, str(exc))
        with session_scope(rt.db_url) as session:
            return {"result": result, "notice": queries.notice_detail(session, notice_id)}

    @app.post("/api/agencies/{slug}/repoll", tags=["api"])
    def api_repoll(slug: str, user: User = Depends(api_admin)):
        try:
            return actions.repoll(rt, slug)
        except actions.ActionError as exc:
            raise HTTPException(404, str(exc))

    @app.post("/api/rescore", tags=["api"])
    def api_rescore(user: User = Depends(api_admin), agency: Optional[str] = Query(None, max_length=200)):
        try:
            return actions.rescore(rt, agency)
        except actions.ActionError as exc:
            raise HTTPException(404, str(exc))

    # ---- the API's own pages, from packaged assets --------------------------------------
    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(Path(fastapi_offline.__file__).parent / "static")),
              name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="nianbao 接口文档",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc():
        return get_redoc_html(openapi_url="/openapi.json", title="nianbao 接口文档",
                              redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png", with_google_fonts=False)

    # ---- operations ----------------------------------------------------------------------
    @app.get("/healthz", tags=["ops"])
    def healthz():
        """Database and broker reached now, the rule files loaded (or their problems at file:line),
        the agencies file and the last cycle as recorded; 503 when the database cannot be reached."""
        from worker.checks import probe

        body = probe(rt)
        return JSONResponse(body, status_code=200 if body["database"]["ok"] else 503)

    @app.get("/metrics", tags=["ops"])
    def metrics():
        return metrics_response(rt)

    return app


def _ruleset(rt):
    try:
        return rt.rules.current(), rt.rules.error
    except Exception as exc:  # RulesUnavailable: show why on the page
        return None, str(exc)

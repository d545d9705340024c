"""The FastAPI application: server-rendered pages (Jinja2, autoescaped), the JSON API under
/api/, /healthz and /metrics. Build it with create_app(runtime, accounts)."""

from __future__ import annotations

import csv
import io
import logging
import os
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
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from models.db import session_scope
from worker.planning import expected_year
from web import actions, queries
from web.auth import Accounts, User, accounts_from_env, new_csrf
from web.metrics import metrics_response

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
State = Literal["published", "late", "pending", "missing", "unreachable", "ambiguous", "needs_review", "unreadable",
                "not_scored", "not_fetched"]
Level = Literal["government", "department"]
Sort = Literal["slug", "name", "level", "region", "state", "score", "errors", "deadline", "last_fetch"]
Order = Literal["asc", "desc"]
NoticeStatus = Literal["pending", "sending", "sent", "failed", "unknown", "no_target"]
Severity = Literal["error", "warning", "info"]


OVERVIEW_COLUMNS = [("slug", "编号"), ("name", "机构"), ("level_label", "层级"), ("region", "地区"), ("year", "年度"),
                    ("state_label", "状态"), ("detail", "说明"), ("score", "得分"), ("grade", "等级"),
                    ("open_errors", "未整改错误"), ("open_warnings", "未整改警告"), ("open_other", "其他"),
                    ("deadline", "截止日期"), ("days_to_deadline", "距截止天数"), ("published_on", "发布日期"),
                    ("last_fetch", "最近抓取"), ("fetch", "抓取情况")]
OVERVIEW_PAGE = 200  # rows per overview page; the exports and the API give every row
ERROR_TITLES = {400: "请求有误", 401: "需要登录", 403: "无权操作", 404: "未找到", 405: "不支持的操作",
                413: "提交内容过大", 422: "提交的内容不完整或格式不对"}


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


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"], default=True))
    env.globals.update(state_labels=queries.STATE_LABELS, severity_labels=queries.SEVERITY_LABELS,
                       notice_status_labels=queries.NOTICE_STATUS_LABELS, level_labels=queries.LEVEL_LABELS,
                       column_labels=queries.COLUMN_LABELS, urlencode=urlencode)
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
    app = FastAPI(title="nianbao", description="政府信息公开工作年度报告监测：看板与 API", version="1")
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
        if request.url.path not in ("/docs", "/redoc"):  # FastAPI's API browsers load their scripts from a CDN
            response.headers.setdefault("Content-Security-Policy",
                                        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                        "frame-ancestors 'none'; form-action 'self'")
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
        return error_page(request, 404, str(exc))

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
        wrong = "、".join(str(e["loc"][-1]) for e in exc.errors() if e.get("loc")) or "请求"
        return error_page(request, 422, f"以下内容缺失或格式不对：{wrong}。请返回上一页检查后重新提交。")

    def render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
        context = {"request": request, "csrf": csrf_of(request), "today": rt.today(),
                   "flash": request.session.pop("flash", None), **context}
        return HTMLResponse(env.get_template(name).render(context), status_code=status)

    def flash(request: Request, message: str) -> None:
        request.session["flash"] = message

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
        user = accounts.login(username, password)
        if user is None:
            return render(request, "login.html", {"user": None, "next": next, "error": "用户名或密码错误"}, status=401)
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
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview_page(request: Request, user: User = Depends(page_user), state: Optional[State] = None,
                      level: Optional[Level] = None, region: Optional[str] = Query(None, max_length=100),
                      q: Optional[str] = Query(None, max_length=100), sort: Sort = "slug", order: Order = "asc",
                      page: int = Query(1, ge=1, le=10_000)):
        today = rt.today()
        with session_scope(rt.db_url) as session:
            every = queries.overview(session, today)
        rows = queries.filter_rows(every, state=state, level=level, region=region, q=q, sort=sort, desc=order == "desc")
        pages = max(1, -(-len(rows) // OVERVIEW_PAGE))
        page = min(page, pages)
        league = sorted((r for r in every if r["score"] is not None), key=lambda r: -r["score"])[:10]
        counts: dict[str, int] = {}
        for r in every:
            counts[r["state"]] = counts.get(r["state"], 0) + 1
        deadline = min((date.fromisoformat(r["deadline"]) for r in every), default=None)
        params = {k: v for k, v in {"state": state, "level": level, "region": region, "q": q}.items() if v}
        return render(request, "overview.html", {
            "user": user, "rows": rows[(page - 1) * OVERVIEW_PAGE:page * OVERVIEW_PAGE], "matched": len(rows),
            "page": page, "pages": pages, "league": league, "counts": counts, "params": params, "sort": sort,
            "order": order, "regions": sorted({r["region"] for r in every if r["region"]}),
            "deadline": deadline, "days_left": (deadline - today).days if deadline else None,
            "year": every[0]["year"] if every else None})

    @app.get("/agencies/{slug}", response_class=HTMLResponse, include_in_schema=False)
    def agency_page(request: Request, slug: str, user: User = Depends(page_user)):
        with session_scope(rt.db_url) as session:
            detail = queries.agency_detail(session, slug, rt.today())
        return render(request, "agency.html", {"user": user, **detail})

    @app.get("/reports/{report_id}", response_class=HTMLResponse, include_in_schema=False)
    def report_page(request: Request, report_id: int, snapshot: Optional[int] = None, user: User = Depends(page_user)):
        with session_scope(rt.db_url) as session:
            detail = queries.report_detail(session, report_id, snapshot)
        return render(request, "report.html", {"user": user, **detail})

    @app.get("/reports/{report_id}/original", include_in_schema=False)
    def original(report_id: int, snapshot: Optional[int] = None, user: User = Depends(page_user)):
        with session_scope(rt.db_url) as session:
            detail = queries.report_detail(session, report_id, snapshot)
        snap = detail["snapshot"]
        if snap is None:
            raise HTTPException(404, "这份年报还没有抓取到的版本")
        try:
            data = rt.blobs.get(snap["sha256"])
        except FileNotFoundError:
            raise HTTPException(404, "原件不在存储中")
        # The agency's page runs in a sandbox: never with our origin's cookies or scripts.
        return Response(data, media_type=snap["content_type"] or "application/octet-stream", headers={
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
            "Content-Disposition": f'inline; filename="report-{report_id}-{snap["sha256"][:12]}"'})

    @app.get("/notices", response_class=HTMLResponse, include_in_schema=False)
    def notices_page(request: Request, user: User = Depends(page_user), status: Optional[NoticeStatus] = None,
                     kind: Optional[str] = Query(None, max_length=40), audience: Optional[str] = Query(None, max_length=40),
                     agency: Optional[str] = Query(None, max_length=200), page: int = Query(1, ge=1, le=10_000)):
        with session_scope(rt.db_url) as session:
            rows = queries.notices(session, status=status, kind=kind, audience=audience, agency=agency,
                                   limit=100, offset=(page - 1) * 100)
            counts = queries.metrics_snapshot(session)["notices"]
        params = {k: v for k, v in {"status": status, "kind": kind, "audience": audience, "agency": agency}.items() if v}
        return render(request, "notices.html", {"user": user, "rows": rows, "counts": counts, "params": params,
                                                "page": page})

    @app.get("/notices/{notice_id}", response_class=HTMLResponse, include_in_schema=False)
    def notice_page(request: Request, notice_id: int, user: User = Depends(page_user)):
        with session_scope(rt.db_url) as session:
            notice = queries.notice_detail(session, notice_id)
        return render(request, "notice.html", {"user": user, "n": notice})

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
            return render(request, "rules.html", rules_context(user, file, content, diff_error=str(exc)), status=400)
        return render(request, "rules.html", rules_context(user, file, content, diff=diff))

    # ---- admin actions (forms) -----------------------------------------------------------
    @app.post("/actions/silence", include_in_schema=False)
    def silence_form(request: Request, user: User = Depends(page_user), csrf_token: str = Form(""),
                     rule_id: str = Form(...), until: date = Form(...), reason: str = Form(...),
                     agency: str = Form("")):
        form_admin(request, user, csrf_token)
        try:
            actions.silence(rt, rule_id=rule_id, until=until, reason=reason, by=user.name, agency_slug=agency or None)
            flash(request, f"已静默规则 {rule_id} 至 {until.isoformat()}")
        except actions.ActionError as exc:
            flash(request, f"未能静默：{exc}")
        return back(request, "/")

    @app.post("/actions/notices/{notice_id}/ack", include_in_schema=False)
    def ack_form(request: Request, notice_id: int, user: User = Depends(page_user), csrf_token: str = Form("")):
        form_admin(request, user, csrf_token)
        flash(request, f"通知 {notice_id} 已确认" if actions.acknowledge(rt, notice_id, user.name)
              else f"通知 {notice_id} 不存在或已确认")
        return back(request, "/notices")

    @app.post("/actions/notices/{notice_id}/resend", include_in_schema=False)
    def resend_form(request: Request, notice_id: int, user: User = Depends(page_user), csrf_token: str = Form("")):
        form_admin(request, user, csrf_token)
        try:
            actions.resend(rt, notice_id)
            with session_scope(rt.db_url) as session:
                status = queries.notice_detail(session, notice_id)["status"]
            flash(request, f"通知 {notice_id} 已重新发送：{queries.NOTICE_STATUS_LABELS.get(status, status)}")
        except actions.ActionError as exc:
            flash(request, f"未能重发：{exc}")
        return back(request, "/notices")

    @app.post("/actions/agencies/{slug}/repoll", include_in_schema=False)
    def repoll_form(request: Request, slug: str, user: User = Depends(page_user), csrf_token: str = Form("")):
        form_admin(request, user, csrf_token)
        try:
            result = actions.repoll(rt, slug)
            flash(request, f"已重新抓取：{result}")
        except actions.ActionError as exc:
            flash(request, f"未能重新抓取：{exc}")
        return back(request, f"/agencies/{slug}")

    @app.post("/actions/rescore", include_in_schema=False)
    def rescore_form(request: Request, user: User = Depends(page_user), csrf_token: str = Form(""),
                     agency: str = Form("")):
        form_admin(request, user, csrf_token)
        try:
            flash(request, f"已重新评分：{actions.rescore(rt, agency or None)}")
        except actions.ActionError as exc:
            flash(request, f"未能重新评分：{exc}")
        return back(request, "/")

    # ---- API -----------------------------------------------------------------------------
    @app.get("/api/status", tags=["api"])
    def api_status(user: User = Depends(api_user)):
        from worker.status import health

        ruleset, error = _ruleset(rt)
        with session_scope(rt.db_url) as session:
            return {"today": rt.today().isoformat(), "ruleset_version": getattr(ruleset, "version", None),
                    "rules_error": error, "health": health(session), **queries.metrics_snapshot(session)}

    @app.get("/api/agencies", tags=["api"])
    def api_agencies(user: User = Depends(api_user), state: Optional[State] = None, level: Optional[Level] = None,
                     region: Optional[str] = Query(None, max_length=100), q: Optional[str] = Query(None, max_length=100),
                     sort: Sort = "slug", order: Order = "asc"):
        with session_scope(rt.db_url) as session:
            rows = queries.overview(session, rt.today(), state=state, level=level, region=region, q=q, sort=sort,
                                    desc=order == "desc")
        # The rows are plain JSON already; FastAPI's jsonable_encoder would walk all of them again.
        return JSONResponse(rows)

    def export_rows(state, level, region, q, sort, order) -> list[dict]:
        with session_scope(rt.db_url) as session:
            rows = queries.overview(session, rt.today(), state=state, level=level, region=region, q=q, sort=sort,
                                    desc=order == "desc")
        # A cell starting with = + - @ would be a formula in a spreadsheet.
        return [{k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v) for k, v in row.items()} for row in rows]

    @app.get("/api/agencies.csv", tags=["api"], response_class=PlainTextResponse)
    def api_agencies_csv(user: User = Depends(api_user), state: Optional[State] = None, level: Optional[Level] = None,
                         region: Optional[str] = Query(None, max_length=100),
                         q: Optional[str] = Query(None, max_length=100), sort: Sort = "slug", order: Order = "asc"):
        """The overview as CSV (UTF-8 with BOM so that Excel reads the Chinese), same filters as /api/agencies."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([label for _, label in OVERVIEW_COLUMNS])
        writer.writerows([row[key] for key, _ in OVERVIEW_COLUMNS] for row in export_rows(state, level, region, q, sort, order))
        return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="overview.csv"'})

    @app.get("/api/agencies.xlsx", tags=["api"], response_class=Response,
             responses={200: {"content": {XLSX: {}}, "description": "the overview as an Excel workbook"}})
    def api_agencies_xlsx(user: User = Depends(api_user), state: Optional[State] = None, level: Optional[Level] = None,
                          region: Optional[str] = Query(None, max_length=100),
                          q: Optional[str] = Query(None, max_length=100), sort: Sort = "slug", order: Order = "asc"):
        """The overview as an Excel workbook, same filters as /api/agencies."""
        data = overview_xlsx(export_rows(state, level, region, q, sort, order), rt.today())
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
        except actions.ActionError as exc:
            raise HTTPException(400, str(exc))

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

    # ---- operations ----------------------------------------------------------------------
    @app.get("/healthz", tags=["ops"])
    def healthz():
        try:
            with session_scope(rt.db_url) as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # the probe says why instead of failing with a trace
            return JSONResponse({"ok": False, "database": f"{type(exc).__name__}"}, status_code=503)
        return {"ok": True, "database": "ok"}

    @app.get("/metrics", tags=["ops"])
    def metrics():
        return metrics_response(rt)

    return app


def overview_xlsx(rows: list[dict], today: date) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)  # streams rows: thousands of agencies stay cheap
    sheet = book.create_sheet(f"{today.year}年总览")
    sheet.freeze_panes = "C2"
    for column, width in zip("ABCDEFGHIJKLMNOPQ", (10, 28, 8, 10, 6, 10, 30, 6, 6, 10, 10, 6, 12, 10, 12, 22, 20)):
        sheet.column_dimensions[column].width = width
    header = []
    for _, label in OVERVIEW_COLUMNS:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([row[key] for key, _ in OVERVIEW_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _ruleset(rt):
    try:
        return rt.rules.current(), rt.rules.error
    except Exception as exc:  # RulesUnavailable: show why on the page
        return None, str(exc)

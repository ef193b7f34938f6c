"""/api/auth: sign up, log in, refresh, log out, me."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Controller, Request, Response, get, post

from commands._common import load
from commands.sign_in import cmd as sign_in
from commands.sign_up import cmd as sign_up
from domain.account import Account
from domain.errors import InvalidInput, Unauthorized
from domain.workspace import Workspace
from web.auth import REFRESH_COOKIE, Auth, Member, Session, cleared_cookies, session_cookies
from web.auth_schemas import LoginRequest, MeResponse, RefreshRequest, SessionResponse, SignUpRequest, SignUpResponse
from web.guards import signed_in
from web.schemas import Ack


def session_body(session: Session, account_id: UUID, workspace_id: UUID, role: str) -> SessionResponse:
    """The session as the response body."""
    return SessionResponse(
        session.access_token,
        session.refresh_token,
        session.expires_in,
        session.refresh_expires_in,
        str(account_id),
        str(workspace_id),
        role,
    )


def client_address(request: Request[Any, Any, Any]) -> str:
    """The caller's address (the TCP peer, or the forwarded one from a trusted proxy)."""
    return request.client.host if request.client else "unknown"


def parse_workspace_id(raw: str | None) -> UUID | None:
    """An optional workspace id from a body."""
    try:
        return UUID(raw) if raw else None
    except ValueError:
        raise InvalidInput("workspace_id must be a workspace's UUID.", code="invalid_workspace_id") from None


class AuthController(Controller):
    """Sessions for the dashboard (cookies) and the API (bearer tokens)."""

    path = "/api/auth"
    tags = ["auth"]

    @post("/signup", operation_id="signUp", status_code=201, summary="Create a workspace and its first admin")
    async def signup(
        self, request: Request[Any, Any, Any], data: SignUpRequest, auth: Auth
    ) -> Response[SignUpResponse]:
        """A 14-day trial workspace, with you as its admin; you are signed in. 429 ``too_many_signups`` past the
        sign-ups allowed from one address."""
        await anyio.to_thread.run_sync(auth.check_signup, client_address(request))
        command = sign_up.SignUp(data.email, data.password, data.name, data.workspace_name)
        done = await anyio.to_thread.run_sync(sign_up.execute, auth.app, command)
        session = auth.issue(done.account_id, done.workspace_id, done.role)
        workspace = await anyio.to_thread.run_sync(
            lambda: load(auth.app, done.workspace_id, Workspace, "workspace", read_only=True)
        )
        ends = workspace.trial_ends_at.isoformat() if workspace.trial_ends_at else None
        body = SignUpResponse(
            session_body(session, done.account_id, done.workspace_id, done.role), done.widget_key, workspace.plan, ends
        )
        return Response(body, status_code=201, cookies=session_cookies(auth, session))

    @post("/login", operation_id="logIn", status_code=200, summary="Sign in with email and password")
    async def login(self, request: Request[Any, Any, Any], data: LoginRequest, auth: Auth) -> Response[SessionResponse]:
        """The same 401 ``invalid_credentials`` for an unknown email and a wrong password; failures are answered more
        and more slowly, then 429 after 5 for one email from one address (or too many from one address)."""
        command = sign_in.SignIn(data.email, data.password, parse_workspace_id(data.workspace_id))
        address = client_address(request)

        def run() -> tuple[sign_in.SignedIn, Session] | tuple[Unauthorized, float]:
            delay = auth.check_throttle(data.email, address)
            try:
                done = sign_in.execute(auth.app, command)
            except Unauthorized as refused:
                auth.record_failure(data.email, address)
                return refused, delay
            auth.clear_failures(data.email, address)
            return done, auth.issue(done.account_id, done.workspace_id, done.role)

        outcome = await anyio.to_thread.run_sync(run)
        if isinstance(outcome[0], Unauthorized):
            await anyio.sleep(float(outcome[1]))  # without holding a worker thread
            raise outcome[0]
        done, session = outcome
        body = session_body(session, done.account_id, done.workspace_id, done.role)
        return Response(body, cookies=session_cookies(auth, session))

    @post("/refresh", operation_id="refreshSession", status_code=200, summary="New tokens for a refresh token")
    async def refresh(
        self, request: Request[Any, Any, Any], auth: Auth, data: RefreshRequest | None = None
    ) -> Response[SessionResponse]:
        """Takes the refresh token from the body or the ``ca_refresh`` cookie; re-reads the member's role."""
        token = (data.refresh_token if data else None) or request.cookies.get(REFRESH_COOKIE)
        if not token:
            raise Unauthorized(
                "Send the refresh token in the body or the ca_refresh cookie.", code="missing_credentials"
            )
        member, session = await anyio.to_thread.run_sync(auth.refresh, token)
        body = session_body(session, member.account_id, member.workspace_id, member.role)
        return Response(body, cookies=session_cookies(auth, session))

    @post("/logout", operation_id="logOut", status_code=200, guards=[signed_in], summary="Revoke this session")
    async def logout(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        current_member: Member,
        data: RefreshRequest | None = None,
    ) -> Response[Ack]:
        """Signs out the session: every access and refresh token descended from its sign-in, whichever credential
        came (and the refresh token given or in the cookie, even of another session)."""
        refresh = (data.refresh_token if data else None) or request.cookies.get(REFRESH_COOKIE)

        def run() -> None:
            auth.revoke(current_member.jti, current_member.exp)
            auth.revoke_session(current_member.session_id)
            if refresh:
                auth.revoke_token(refresh, "refresh")

        await anyio.to_thread.run_sync(run)
        return Response(Ack(), cookies=cleared_cookies())

    @get("/me", operation_id="me", guards=[signed_in], summary="The signed-in member")
    async def me(self, auth: Auth, current_member: Member) -> MeResponse:
        """Account, workspace, current role and its permissions."""

        def read() -> tuple[Account, Workspace]:
            account = load(auth.app, current_member.account_id, Account, "account", read_only=True)
            return account, load(auth.app, current_member.workspace_id, Workspace, "workspace", read_only=True)

        account, workspace = await anyio.to_thread.run_sync(read)
        return MeResponse(
            str(account.id),
            account.email,
            account.name,
            str(workspace.id),
            workspace.name,
            current_member.role,
            current_member.permissions,
            workspace.plan,
            workspace.trial_ends_at.isoformat() if workspace.trial_ends_at else None,
        )

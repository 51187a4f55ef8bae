"""Users and their tokens.

A token is 32 random bytes (URL-safe text); the store keeps only its SHA-256.
A slow password hash is not needed: a token of that length cannot be guessed,
so a leaked hash gives nothing to try offline. Requests carry the token as
``Authorization: Bearer <token>`` or in the ``butfor_token`` cookie the login
page sets (HttpOnly, SameSite=Strict, so other sites cannot send it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

from fastapi import HTTPException, Request

from butfor.errors import ButforError
from butfor.web.db import _now, connect, new_id

COOKIE = "butfor_token"
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(store_path: Path, name: str) -> str:
    """Create a user and return the token (shown once; only its hash is kept)."""
    if not _NAME.match(name):
        raise ButforError(f"the user name {name!r} is not allowed; use 1 to 64 letters, digits "
                          "or . _ @ -")
    token = "bf_" + secrets.token_urlsafe(32)
    con = connect(store_path)
    try:
        if con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            raise ButforError(f"a user named {name!r} already exists in {store_path}; "
                              "choose another name")
        con.execute("INSERT INTO users VALUES (?, ?, ?, ?)",
                    [new_id(), name, hash_token(token), _now()])
    finally:
        con.close()
    return token


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE)


class NotSignedIn(Exception):
    """No valid token: pages send the browser to the login page, the API answers 401."""


def current_user(request: Request) -> dict:
    """The signed-in user, from the bearer token or the login cookie."""
    token = token_of(request)
    user = request.app.state.store.user_by_token_hash(hash_token(token)) if token else None
    if user is None:
        if request.url.path.startswith("/api/"):
            raise HTTPException(status_code=401, detail="a valid token is required",
                                headers={"WWW-Authenticate": "Bearer"})
        raise NotSignedIn()
    request.state.user = user
    return user

"""Camera logins: credential profiles, password references resolved to SecretStr, passwords taken out of URLs.

A password is never written in the config or a ledger: it is named by ``password_env`` (an environment
variable) or ``password_file`` (a file holding only the password, e.g. a mounted secret). Errors say which
variable or file is missing, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from pydantic import SecretStr

from camwatch.config.models import CredentialRef
from camwatch.config.redact import userinfo_span


class SecretUnavailable(ValueError):
    """A password reference that cannot be resolved; ``field`` is the reference that failed."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


def resolve_path(path: Path, base_dir: Path) -> Path:
    """``path`` with ``~`` expanded, relative to ``base_dir`` (the config file's folder) unless absolute."""
    path = path.expanduser()
    return path if path.is_absolute() else base_dir / path


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_password(
    *,
    password_env: str | None,
    password_file: Path | None,
    base_dir: Path,
    environ: Mapping[str, str],
) -> SecretStr | None:
    """The password a reference names, or None when there is no reference.

    Raises :class:`SecretUnavailable` when both or an unusable reference is given. A password file's
    trailing newline is dropped (``echo secret > file`` writes one).
    """
    if password_env and password_file:
        raise SecretUnavailable("password_env", "give password_env or password_file, not both")
    if password_env:
        if not _ENV_NAME.fullmatch(password_env):
            # Never echo it: the usual slip is the password itself typed where its reference belongs.
            raise SecretUnavailable(
                "password_env",
                "must name an environment variable (letters, digits, '_'); the value is not shown",
            )
        value = environ.get(password_env)
        if value is None:
            raise SecretUnavailable("password_env", f"environment variable {password_env} is not set")
        if not value:
            raise SecretUnavailable("password_env", f"environment variable {password_env} is empty")
        return SecretStr(value)
    if password_file:
        path = resolve_path(password_file, base_dir)
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL in the path
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a readable text file"
            # The name is not echoed (it may be a password typed in the wrong place); the folder is.
            raise SecretUnavailable(
                "password_file", f"cannot read the file it names (looked in {path.parent}): {why}"
            ) from None
        if not value:
            raise SecretUnavailable("password_file", f"the file it names (in {path.parent}) is empty")
        return SecretStr(value)
    return None


@dataclass(frozen=True)
class Profile:
    """A named credentials profile with its password resolved (or the reason it could not be)."""

    name: str
    username: str
    password: SecretStr | None
    failure: SecretUnavailable | None
    file: str
    where: str | None


def load_profile(
    name: str,
    ref: CredentialRef,
    *,
    base_dir: Path,
    environ: Mapping[str, str] | None,
    file: str,
    where: str | None,
) -> Profile:
    """Resolve one ``credentials:`` entry; a failure is kept, to be reported only if a camera uses it.

    ``environ`` None: the password is not resolved (the profile's password is None, with no failure)."""
    password: SecretStr | None = None
    failure: SecretUnavailable | None = None
    if environ is None:
        return Profile(name, ref.username, None, None, file, where)
    try:
        password = read_password(
            password_env=ref.password_env, password_file=ref.password_file, base_dir=base_dir, environ=environ
        )
        if password is None:
            failure = SecretUnavailable(
                "password_env", "a credentials profile needs password_env or password_file"
            )
    except SecretUnavailable as exc:
        failure = exc
    return Profile(name, ref.username, password, failure, file, where)


@dataclass(frozen=True)
class UrlLogin:
    """An RTSP URL without its userinfo, and what the userinfo held."""

    url: str
    username: str | None
    password: SecretStr | None


def split_userinfo(url: str) -> UrlLogin:
    """Move ``user:password@`` out of a URL: cameras keep logins in ``username``/``password`` only.

    The userinfo runs to the last ``@`` (:func:`camwatch.config.redact.userinfo_span`), so a password with an
    unencoded ``/``, ``#``, ``?`` or ``@`` comes out whole and the rest is the camera's own URL."""
    span = userinfo_span(url)
    if span is None:
        return UrlLogin(url, None, None)
    start, end = span
    user, sep, password = url[start:end].partition(":")
    return UrlLogin(
        url[:start] + url[end + 1 :],
        unquote(user) or None,
        SecretStr(unquote(password)) if sep and password else None,
    )

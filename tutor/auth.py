"""The optional login of a shared deployment: a file of users with salted scrypt password hashes.

TUTOR_AUTH_FILE names the file; `tutor users add NAME` writes it and `tutor serve` hands `checker(path)` to
Gradio's `auth=`, which then guards the page and every API route. One user a line:

    name:scrypt:16384:8:1:<salt, hex>:<hash, hex>

The scrypt cost (n, r, p) is stored with each hash, so a later change of cost keeps older lines valid.
Passwords are compared in constant time, and an unknown name costs as much as a wrong password.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from tutor.errors import ConfigError, InputError

log = logging.getLogger(__name__)

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # 16 MB and ~50 ms a check: OWASP's floor for scrypt
SALT_BYTES, KEY_BYTES = 16, 32
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # scrypt reads the whole password: no megabyte logins
NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
FIX = "fix or delete that line, or write the file again with `tutor users add NAME`"


def hash_password(password: str) -> str:
    """`scrypt:n:r:p:salt:hash` for a password, with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, N, R, P)
    return f"{SCHEME}:{N}:{R}:{P}:{salt.hex()}:{key.hex()}"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024,
                          dklen=KEY_BYTES)


def verify(stored: str, password: str) -> bool:
    scheme, n, r, p, salt, key = stored.split(":")
    return hmac.compare_digest(_scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p)), bytes.fromhex(key))


# Checked against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY = f"{SCHEME}:{N}:{R}:{P}:{'00' * SALT_BYTES}:{'00' * KEY_BYTES}"


def _parse_line(line: str) -> tuple[str, str]:
    name, _, stored = line.partition(":")
    parts = stored.split(":")
    if not NAME.fullmatch(name) or len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError("expected a name, then scrypt, n, r, p, salt and hash, separated by colons")
    n, r, p = (int(v) for v in parts[1:4])
    if n < 2 or n & (n - 1) or not (1 <= r <= 64 and 1 <= p <= 16 and n * r <= 2**24):
        raise ValueError("scrypt cost out of range")
    if len(bytes.fromhex(parts[4])) < 8 or len(bytes.fromhex(parts[5])) != KEY_BYTES:
        raise ValueError("salt or hash of the wrong length")
    return name, stored


def read_users(path: Path) -> dict[str, str]:
    """name -> stored hash; a missing file is no users; a bad line is a ConfigError naming it and the fix."""
    path = Path(path)
    if not path.exists():
        return {}
    if path.is_dir():
        raise ConfigError(f"TUTOR_AUTH_FILE={path} is a folder; point it at a users file (made by `tutor users add`)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the users file {path} (TUTOR_AUTH_FILE): {exc}") from None
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            name, stored = _parse_line(line.strip())
        except ValueError as exc:
            raise ConfigError(f"the users file {path} (TUTOR_AUTH_FILE) has a bad line {number} ({exc}); {FIX}") from None
        users[name] = stored
    return users


def write_users(path: Path, users: dict[str, str]) -> None:
    """Replace the file at once (a reader never sees half of it), readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "# Trial Tutor users (tutor users add/remove); name:scrypt:n:r:p:salt:hash\n"
    body += "".join(f"{name}:{stored}\n" for name, stored in sorted(users.items()))
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".users-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(body)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InputError(f"user name {name!r} is not allowed: use 1 to 64 letters, digits, '.', '_', '@' or '-'")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password is {len(password)} characters; use at least {MIN_PASSWORD}")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"the password is {len(password)} characters; use at most {MAX_PASSWORD}")
    return password


def add_user(path: Path, name: str, password: str) -> bool:
    """Add a user, or set a known user's new password; True when the user is new."""
    users = read_users(path)
    new = check_name(name) not in users
    users[name] = hash_password(check_password(password))
    write_users(path, users)
    return new


def remove_user(path: Path, name: str) -> None:
    users = read_users(path)
    if name not in users:
        known = ", ".join(sorted(users)) or "none"
        raise InputError(f"no user {name!r} in {path} (users: {known})")
    del users[name]
    write_users(path, users)


def checker(path: Path) -> Callable[[str, str], bool]:
    """Gradio's `auth=`: (name, password) -> allowed. The file is read on each login, so `tutor users add`
    and `remove` apply without a restart; it is checked once now, so a bad file stops `tutor serve` at start."""
    path = Path(path)
    if not read_users(path):
        raise ConfigError(f"the users file {path} (TUTOR_AUTH_FILE) holds no users; add one with "
                          "`tutor users add NAME`, or unset TUTOR_AUTH_FILE")

    def allowed(name: str, password: str) -> bool:
        try:
            users = read_users(path)
        except ConfigError as exc:  # broken while serving: refuse everyone, say why in the log
            log.error("login refused: %s", exc)
            return False
        if not isinstance(name, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD:
            return False
        stored = users.get(name)
        ok = verify(stored or _DUMMY, password)
        if not (ok and stored):
            log.warning("login refused for %r", name[:64])
        return bool(ok and stored)

    return allowed


def is_loopback(host: str) -> bool:
    """Whether a bind address serves this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


EXPOSED = """\
WARNING: Trial Tutor is listening on {host}, reachable from other machines, with NO LOGIN.
Anyone who can reach this port can use the page and its API (/ask, /takeaways, feedback, downloads).
Either set TUTOR_AUTH_FILE to a users file (`tutor users add NAME`), or put an authenticating
reverse proxy in front and bind to 127.0.0.1. See SECURITY.md."""


def exposure_warning(host: str, auth_file: Path | None) -> str | None:
    """The block `tutor serve` prints when it serves beyond this machine with no login; None otherwise."""
    if auth_file is not None or is_loopback(host):
        return None
    return EXPOSED.format(host=host)

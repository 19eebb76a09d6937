"""Secrets echoed back in any spelling never show, and no error message quotes the server.

A loopback server plays Harvest and Harvest ID and echoes every secret it receives (the
static token, an OAuth bearer token, the code, refresh token and client secret of OAuth
token calls) in one of many spellings: JSON escapes (``\\/``, ``\\u0039``, upper, lower
and mixed hex, every character or a few), escapes escaped again, percent-encoding and
HTML character references; in a message, an OAuth ``error_description``, an object key,
deep inside nested arrays, or in a body that is not JSON at all. Whatever the client
raises or logs (``str``, ``repr``, ``.body``, ``.message``, the formatted traceback with
its chain, DEBUG log records) is searched for every secret, after undoing every
spelling (`reveal`).

A 2xx list page that puts the token into its envelope (``total_entries``, ``links.next``,
...) gives a `DecodeError` whose message says what was wrong, not the value.
"""

from __future__ import annotations

import html
import json
import logging
import random
import re
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp import web
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import harvest_async as ha
from harvest_async._http import decipher_response, redact
from harvest_async._requester import _Wait
from harvest_async.oauth import HarvestID, OAuthSession

from .records import required_values

ACCOUNT = "123456"
# Secrets with the characters JSON escapes most often (``/``) and others a form or URL
# encoding changes (``+``, ``=``, ``~``).
TOKEN = "2012345.pt.Zk9/Aq+Lm=Tr_x-Y~42"
OAUTH_ACCESS = "7788.at.aBc/DeF+9=xyZ-0987"
REFRESH = "7788.rt.Qw/Er+Ty=9_Ui-Op"
CLIENT_SECRET = "cs/9+Zz=Secret-0_1a2b3c"
CODE = "code/9+Ab=Cd-Ef_012345"
SECRETS = (TOKEN, OAUTH_ACCESS, REFRESH, CLIENT_SECRET, CODE)


# ---------------------------------------------------------------------------
# Spellings of a secret, as raw text inside a JSON string literal
# ---------------------------------------------------------------------------


def _u(char: str, case: str) -> str:
    digits = f"{ord(char):04x}"
    if case == "upper":
        digits = digits.upper()
    elif case == "mixed":
        digits = "".join(d.upper() if i % 2 else d for i, d in enumerate(digits))
    return "\\u" + digits


def _mixed(seed: int) -> Callable[[str], str]:
    def spell(secret: str) -> str:
        rng = random.Random(seed)
        out = []
        for char in secret:
            choice = rng.randrange(5)
            if choice == 0:
                out.append("\\/" if char == "/" else char)
            else:
                out.append(_u(char, ("lower", "upper", "mixed", "lower")[choice - 1]))
        return "".join(out)

    return spell


SPELLINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "slashes": lambda s: s.replace("/", "\\/"),
    "u-lower": lambda s: "".join(_u(c, "lower") for c in s),
    "u-upper": lambda s: "".join(_u(c, "upper") for c in s),
    "u-mixed-hex": lambda s: "".join(_u(c, "mixed") for c in s),
    "u-digits-only": lambda s: "".join(
        _u(c, "lower") if c.isdigit() else "\\/" if c == "/" else c for c in s
    ),
    "mix-1": _mixed(1),
    "mix-2": _mixed(2),
    "mix-3": _mixed(3),
    # Escaped twice: the decoded string holds the text "\u0032\u0030..." itself.
    "double": lambda s: "".join(_u(c, "lower") for c in s).replace("\\", "\\\\"),
    # The backslash of each escape escaped as \u005c: decodes to "\u0032..." as text.
    "u005c": lambda s: "".join("\\u005c" + _u(c, "upper")[1:] for c in s),
    # Every character of each escape escaped too: only undoing escapes twice shows it.
    "escape-escaped": lambda s: "".join(
        "\\u005c" + "".join(_u(e, "lower") for e in f"u{ord(c):04x}") for c in s
    ),
    "percent": lambda s: "".join(
        f"%{b:02X}" if i % 2 else f"%{b:02x}" for i, b in enumerate(s.encode())
    ),
    "percent-form": lambda s: "".join(
        c if c.isalnum() or c in "._-~" else f"%{ord(c):02X}" for c in s
    ),
    "html": lambda s: "".join(
        f"&#{ord(c)};" if i % 2 else f"&#x{ord(c):X};" for i, c in enumerate(s)
    ),
}

#: Where the echo goes: (status, body around the spelled text).
PLACES: dict[str, tuple[int, Callable[[str], str]]] = {
    "message": (422, lambda e: '{"message": "rejected ' + e + '"}'),
    "error_description": (403, lambda e: '{"error": "x", "error_description": "' + e + '"}'),
    "key": (400, lambda e: '{"errors": {"' + e + '": ["is invalid"]}, "message": "bad"}'),
    "nested": (404, lambda e: '{"a": [1, {"b": [{"c": ["Bearer ' + e + '"]}]}]}'),
    "html": (503, lambda e: "<html><pre>Authorization: Bearer " + e + "</pre></html>"),
    "cut-json": (500, lambda e: '{"message": "Bearer ' + e + '", "more": '),
}
CASES = [(spelling, place) for spelling in SPELLINGS for place in PLACES]


def reveal(text: str) -> str:
    """``text`` with every spelling above undone, again and again (escapes of escapes)."""
    for _ in range(8):
        before = text
        text = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
        text = re.sub(r"\\+/", "/", text)
        text = html.unescape(unquote(text))
        if text == before:
            break
    return text


def everything_about(exc: BaseException) -> str:
    """Every way an exception is shown: str, repr, attributes, the whole chain."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(getattr(current, "__dict__", {}))]
        if isinstance(current, ha.APIError):
            parts += [current.message, json.dumps(current.body, default=str)]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def assert_no_secret(text: str) -> None:
    shown = reveal(text)
    for secret in SECRETS:
        assert secret not in text, secret
        assert secret not in shown, secret


# ---------------------------------------------------------------------------
# The echoing server
# ---------------------------------------------------------------------------


def _echo_body(index: int, *secrets: str) -> web.Response:
    spelling, place = CASES[index]
    status, around = PLACES[place]
    text = around(" and ".join(SPELLINGS[spelling](s) for s in secrets))
    kind = "text/html" if place == "html" else "application/json"
    return web.Response(status=status, text=text, content_type=kind)


async def _record(request: web.Request) -> web.Response:
    """GET /v2/users/{case + 1}: echo the bearer token in that case's spelling and place."""
    credentials = request.headers.get("Authorization", "").partition(" ")[2]
    assert credentials in (TOKEN, OAUTH_ACCESS)  # the server really got the secret
    return _echo_body(int(request.match_info["case"]) - 1, credentials)


async def _token(request: web.Request) -> web.Response:
    """POST /api/v2/oauth2/token: echo the secret form fields; client_id picks the case."""
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    index = int(form["client_id"].removeprefix("case-"))
    secrets = [form[k] for k in ("code", "refresh_token", "client_secret") if k in form]
    assert CLIENT_SECRET in secrets
    return _echo_body(index, *secrets)


#: Pages of /v2/clients (per_page picks one) that put the token into the envelope.
def _hostile_page(variant: int, token: str, origin: str) -> Any:
    record = required_values(ha.models.Client)
    page: dict[str, Any] = {"clients": [record], "per_page": variant, "links": {"next": None}}
    if variant == 1:
        page["total_entries"] = token
    elif variant == 2:
        page["total_pages"] = token
    elif variant == 3:
        page["page"] = token
    elif variant == 4:
        page["per_page"] = [token]
    elif variant == 5:
        page["links"]["next"] = {"href": token}
    elif variant == 6:
        page["links"]["next"] = f"https://evil.example/steal?t={token}"
    elif variant == 7:
        page["links"]["next"] = f"//evil.example/{token}"
    elif variant == 8:
        page["links"]["next"] = f"https://{token}@{origin.partition('://')[2]}/v2/clients"
    elif variant == 9:
        page["links"]["next"] = f"{origin}/v2/clients?x={token} y"
    elif variant == 10:
        page["links"]["next"] = f"{origin}/v2/../{token}"
    elif variant == 11:
        page["clients"] = [{**record, "id": token}]
    elif variant == 12:
        page = {token: []}
    elif variant == 13:
        page = [token]
    elif variant == 14:
        page["clients"] = {token: 1}
    elif variant == 15:  # on our origin: followed, and that page fails
        page["links"]["next"] = f"{origin}/v2/clients?cursor={token}&per_page=1"
    return page


HOSTILE_PAGES = range(1, 16)


async def _clients(request: web.Request) -> web.Response:
    token = request.headers.get("Authorization", "").partition(" ")[2]
    if "cursor" in request.query:
        return web.json_response({"message": "cursor expired"}, status=500)
    origin = f"{request.scheme}://{request.host}"
    body = json.dumps(_hostile_page(int(request.query["per_page"]), token, origin))
    return web.Response(text=body.replace("/", "\\/"), content_type="application/json")


@pytest.fixture
async def root() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/v2/users/{case}", _record)
    app.router.add_get("/v2/clients", _clients)
    app.router.add_post("/api/v2/oauth2/token", _token)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger, every level
    for name in ("harvest_async", "aiohttp", "asyncio", "tenacity"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return caplog


async def failure(call: Any) -> ha.HarvestError:
    try:
        await call
    except ha.HarvestError as exc:
        logging.getLogger("tests.redaction").error("failed: %s", exc, exc_info=exc)
        return exc
    raise AssertionError("expected a HarvestError")


def fast_retries(*clients: Any) -> None:
    for client in clients:
        client._requester._wait = _Wait(0.001, 0.002)


def check_errors(errors: dict[str, ha.HarvestError], logs: pytest.LogCaptureFixture) -> None:
    for (spelling, place), exc in errors.items():
        assert isinstance(exc, ha.APIError), (spelling, place, exc)
        assert exc.status == PLACES[place][0]
        try:
            assert_no_secret(everything_about(exc))
        except AssertionError as failed:
            raise AssertionError(f"{spelling} in {place}: {failed}") from None
    text = "\n".join([logs.text, *(r.getMessage() for r in logs.records)])
    assert "retrying GET" in text or "retrying POST" in text  # DEBUG lines were captured
    assert_no_secret(text)


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_static_token_echoed_in_any_spelling_never_shows(
    root: str, logs: pytest.LogCaptureFixture, spelling: str
) -> None:
    errors: dict[str, Any] = {}
    async with ha.HarvestClient(
        access_token=TOKEN, account_id=ACCOUNT, base_url=f"{root}/v2", max_retries=1
    ) as client:
        fast_retries(client)
        for index, case in enumerate(CASES):
            if case[0] == spelling:
                errors[case] = await failure(client.users.get(index + 1))
    check_errors(errors, logs)


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_oauth_bearer_token_echoed_in_any_spelling_never_shows(
    root: str, logs: pytest.LogCaptureFixture, spelling: str
) -> None:
    errors: dict[str, Any] = {}
    async with HarvestID(base_url=root, max_retries=1) as harvest_id:
        session = OAuthSession(
            harvest_id=harvest_id,
            client_id="case-0",
            client_secret=CLIENT_SECRET,
            access_token=OAUTH_ACCESS,
            refresh_token=REFRESH,
        )
        async with ha.HarvestClient.from_oauth(
            session, account_id=ACCOUNT, base_url=f"{root}/v2", max_retries=1
        ) as client:
            fast_retries(client)
            for index, case in enumerate(CASES):
                if case[0] == spelling:
                    errors[case] = await failure(client.users.get(index + 1))
    check_errors(errors, logs)


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_oauth_token_call_secrets_echoed_in_any_spelling_never_show(
    root: str, logs: pytest.LogCaptureFixture, spelling: str
) -> None:
    exchanges: dict[str, Any] = {}
    refreshes: dict[str, Any] = {}
    async with HarvestID(base_url=root, max_retries=1) as harvest_id:
        fast_retries(harvest_id)
        for index, case in enumerate(CASES):
            if case[0] != spelling:
                continue
            exchanges[case] = await failure(
                harvest_id.exchange_code(
                    CODE, client_id=f"case-{index}", client_secret=CLIENT_SECRET
                )
            )
            refreshes[case] = await failure(
                harvest_id.refresh(REFRESH, client_id=f"case-{index}", client_secret=CLIENT_SECRET)
            )
    for errors in (exchanges, refreshes):
        for case, exc in errors.items():
            assert isinstance(exc, ha.APIError), (case, exc)
            try:
                assert_no_secret(everything_about(exc))
            except AssertionError as failed:
                raise AssertionError(f"{case}: {failed}") from None
    assert_no_secret("\n".join([logs.text, *(r.getMessage() for r in logs.records)]))


async def test_a_401_then_a_failed_refresh_shows_neither_echo(
    root: str, logs: pytest.LogCaptureFixture
) -> None:
    async def unauthorized(request: web.Request) -> web.Response:
        bearer = request.headers["Authorization"].partition(" ")[2]
        assert bearer == OAUTH_ACCESS
        spelled = SPELLINGS["mix-2"](bearer)
        return web.Response(
            status=401,
            text='{"error": "invalid_token", "error_description": "' + spelled + '"}',
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_get("/v2/users/me", unauthorized)
    app.router.add_post("/api/v2/oauth2/token", _token)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    here = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with HarvestID(base_url=here, max_retries=0) as harvest_id:
            session = OAuthSession(
                harvest_id=harvest_id,
                client_id=f"case-{CASES.index(('u-upper', 'error_description'))}",
                client_secret=CLIENT_SECRET,
                access_token=OAUTH_ACCESS,
                refresh_token=REFRESH,
            )
            async with ha.HarvestClient.from_oauth(
                session, account_id=ACCOUNT, base_url=f"{here}/v2", max_retries=0
            ) as client:
                exc = await failure(client.users.me())
    finally:
        await runner.cleanup()
    # The refresh's error, raised while handling the 401 (its __context__).
    assert isinstance(exc, ha.PermissionDeniedError)
    assert isinstance(exc.__context__, ha.AuthenticationError)
    assert "<redacted>" in exc.__context__.message
    assert_no_secret(everything_about(exc))
    assert_no_secret(logs.text)


# ---------------------------------------------------------------------------
# 2xx list pages that carry the token into the envelope
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("variant", HOSTILE_PAGES)
async def test_a_list_page_echoing_the_token_gives_an_error_without_it(
    root: str, logs: pytest.LogCaptureFixture, variant: int
) -> None:
    async with ha.HarvestClient(
        access_token=TOKEN, account_id=ACCOUNT, base_url=f"{root}/v2", max_retries=1
    ) as client:
        fast_retries(client)
        exc = await failure(client.clients.list(per_page=variant).collect())
    if variant == 15:  # followed (our origin), and that page failed: its URL has no query
        assert isinstance(exc, ha.ServerError)
        assert exc.url == f"{root}/v2/clients"
    else:
        assert isinstance(exc, ha.DecodeError), exc
    assert_no_secret(everything_about(exc))
    assert_no_secret(logs.text)


def test_error_url_leaves_the_query_out() -> None:
    with pytest.raises(ha.ServerError) as info:
        decipher_response(
            500, {}, b"{}", method="GET", url=f"https://h/v2/clients?cursor={TOKEN}&per_page=1"
        )
    assert info.value.url == "https://h/v2/clients"
    assert TOKEN not in str(info.value)


# ---------------------------------------------------------------------------
# redact() itself: any spelling of any secret, anywhere
# ---------------------------------------------------------------------------

SECRET_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=40
)
SPELLING_NAMES = st.sampled_from(sorted(SPELLINGS))
ONE_CHAR = st.sampled_from(["plain", "u-lower", "u-upper", "u-mixed-hex", "slash", "percent"])


def _spell_char(char: str, how: str) -> str:
    if how == "plain":
        return json.dumps(char)[1:-1]
    if how == "slash":
        return "\\/" if char == "/" else json.dumps(char)[1:-1]
    if how == "percent":
        return f"%{ord(char):02x}"
    return _u(char, how.removeprefix("u-").replace("-hex", ""))


@settings(max_examples=300, deadline=None)
@given(secret=SECRET_TEXT, data=st.data())
def test_redact_removes_any_mix_of_spellings(secret: str, data: st.DataObject) -> None:
    spelled = "".join(_spell_char(c, data.draw(ONE_CHAR)) for c in secret)
    where = data.draw(st.sampled_from(["value", "key", "nested", "text"]))
    template = {
        "value": '{"message": "x@y"}',
        "key": '{"@": 1}',
        "nested": '[[{"a": ["@"]}]]',
        "text": "<p>@</p>",
    }[where]
    assume(not any(secret in part for part in (*template.split("@"), "<redacted>")))
    body = template.replace("@", spelled).encode()
    out = redact(body, [secret.encode()])
    assert b"<redacted>" in out
    text = out.decode()
    assert secret not in text
    assert secret not in reveal(text)
    try:
        decoded = json.loads(out)
    except ValueError:
        return
    assert secret not in json.dumps(decoded, ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(secret=SECRET_TEXT, spelling=SPELLING_NAMES)
def test_redact_reaches_every_spelling_once_decoded(secret: str, spelling: str) -> None:
    assume(not any(secret in part for part in ('{"m": "', '"}', "<redacted>")))
    if spelling in ("plain", "slashes"):  # JSON-escape what must be ('"', '\\')
        spelled = SPELLINGS[spelling](json.dumps(secret)[1:-1])
    else:
        spelled = SPELLINGS[spelling](secret)
    body = ('{"m": "' + spelled + '"}').encode()
    out = redact(body, [secret.encode()])
    for text in (out.decode(), json.dumps(json.loads(out), ensure_ascii=False)):
        assert secret not in reveal(text)


def test_redact_leaves_other_bodies_alone() -> None:
    body = b'{"message": "Not found", "id": 12}'
    assert redact(body, [TOKEN.encode()]) is body
    assert redact(b"", [TOKEN.encode()]) == b""
    assert redact(body, []) is body


@pytest.mark.parametrize("depth", [1, 900, 1500])
@pytest.mark.parametrize("spelling", ["double", "u005c", "escape-escaped"])
def test_redact_of_deeply_nested_or_unparsable_bodies(depth: int, spelling: str) -> None:
    # 900 deep: JSON the parser reads (walked without recursion, then written anew or
    # dropped); 1500 deep: too deep to parse, so searched as text.
    spelled = SPELLINGS[spelling](TOKEN)
    body = ("[" * depth + '"' + spelled + '"' + "]" * depth).encode()
    out = redact(body, [TOKEN.encode()])
    assert TOKEN not in reveal(out.decode())
    try:
        decipher_response(500, {}, out, method="GET", url="https://h/v2/x")
    except ha.ServerError as exc:
        assert_no_secret(everything_about(exc))

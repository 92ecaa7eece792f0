"""Marketplace listing URLs reduced to one canonical key per listing.

Why: one counterfeit listing reaches the alliance as many URLs (mobile hosts, share links with
tracking parameters, title slugs, `<…>` from Discord's no-embed syntax, no scheme at all), and
every copy must land on the same record. `canonicalise` turns any of them into a `Listing` whose
`key` is the identity; `seller_key` does the same for a free-text seller field.

Pure and fast: no network, no database, no Discord. Anything that cannot be used raises
`InvalidInput` with a reason for the person who pasted it; no other exception escapes.

Key formats (the lowercase prefix names the marketplace; ids are kept as the site gives them,
minus leading zeros):

    taobao:N                     item.taobao.com/item.htm?id=N and its mobile/world forms
    tmall:N                      detail.tmall.com/item.htm?id=N, tmall.hk, world.tmall.com
    aliexpress:N                 */item/N.html on any AliExpress site (.com, .us, .ru)
    alibaba:N                    www.alibaba.com/product-detail/Title_N.html, m./shop /product/N
    1688:N                       detail.1688.com/offer/N.html, m.1688.com
    lazada:CC:N                  …-iN-sM.html; CC is the site's country (my sg th ph id vn)
    shopee:CC:SHOP.ITEM          /product/SHOP/ITEM or /Title-i.SHOP.ITEM; CC as above (+tw br mx …)
    amazon:TLD:ASIN              /dp/ASIN and friends; TLD is `com`, `co.uk`, `de`, …; ASIN upper-case
    ebay:N                       /itm/N or /itm/Title/N on any eBay site
    web:HOST/PATH?QUERY          anything else: see `_generic`

Choices worth knowing:

- Lazada item ids are allocated per country site (the same number on lazada.sg and lazada.co.th
  are unrelated products), so the country is part of the key; the `-sM` sku is a variant of the
  same listing and is dropped. Lazada URLs do not reveal the seller, so `seller` is None.
- Shopee ids are per country site too; the shop id is in every item URL, so `seller` is
  `shopee:CC:SHOP`.
- Amazon: the same ASIN on two country sites is two listings (different sellers, different
  takedown desks). An `smid=` merchant id in the URL is the seller (`amazon:TLD:SMID`) and is
  kept in the canonical URL, so that `canonicalise(listing.url) == listing`.
- eBay item numbers are global, so there is no country in the key.
- Taobao and Tmall keys follow the host the listing was reported on, although both sites share
  one id space.
- Search-engine, social-network and link-shortener hosts are refused (short links must be
  expanded first: the listing behind them is unknown without a network request), except the
  shop sections of social networks (Facebook Marketplace items, TikTok Shop products), which
  are ordinary `web:` listings.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import InvalidInput
from bot.rendering import code
from db.models import LISTING_KEY_LENGTH

MAX_URL_LENGTH = 2048
MAX_KEY_LENGTH = LISTING_KEY_LENGTH  # the takedown table's listing_key column; marketplace keys are far shorter
SELLER_MAX = 200

MARKETPLACES = ("taobao", "tmall", "aliexpress", "alibaba", "1688", "lazada", "shopee", "amazon", "ebay")
_NAMES = {
    "taobao": "Taobao",
    "tmall": "Tmall",
    "aliexpress": "AliExpress",
    "alibaba": "Alibaba.com",
    "1688": "1688",
    "lazada": "Lazada",
    "shopee": "Shopee",
    "amazon": "Amazon",
    "ebay": "eBay",
}
_OPEN_LISTING = "open the listing itself and copy its address."


@dataclass(frozen=True)
class Listing:
    """One marketplace listing. `key` is its identity; `url` is a clean address to show people."""

    marketplace: str
    key: str
    url: str
    seller: str | None


# ------------------------------------------------------------------ hosts

_LAZADA = {
    "lazada.com.my": "my",
    "lazada.sg": "sg",
    "lazada.co.th": "th",
    "lazada.com.ph": "ph",
    "lazada.co.id": "id",
    "lazada.vn": "vn",
}
_SHOPEE = {
    "shopee.sg": "sg",
    "shopee.com.my": "my",
    "shopee.co.th": "th",
    "shopee.tw": "tw",
    "shopee.vn": "vn",
    "shopee.ph": "ph",
    "shopee.co.id": "id",
    "shopee.com.br": "br",
    "shopee.com.mx": "mx",
    "shopee.com.co": "co",
    "shopee.cl": "cl",
    "shopee.pl": "pl",
    "shopee.es": "es",
    "shopee.fr": "fr",
    "shopee.in": "in",
}
_AMAZON_TLDS = (
    "com", "co.uk", "de", "fr", "it", "es", "co.jp", "ca", "com.au", "in", "com.mx", "com.br", "nl",
    "se", "pl", "sg", "ae", "sa", "com.tr", "eg", "com.be", "ie", "co.za", "cn",
)  # fmt: skip
_EBAY = (
    "ebay.com", "ebay.co.uk", "ebay.de", "ebay.fr", "ebay.it", "ebay.es", "ebay.at", "ebay.ch", "ebay.be",
    "ebay.nl", "ebay.ie", "ebay.pl", "ebay.ca", "ebay.com.au", "ebay.com.hk", "ebay.com.sg", "ebay.com.my",
    "ebay.ph", "ebay.in",
)  # fmt: skip

# Registrable domain → (marketplace, region). Looked up on the host and each parent domain.
_MARKET_HOSTS: dict[str, tuple[str, str]] = {
    "taobao.com": ("taobao", ""),
    "tmall.com": ("tmall", ""),
    "tmall.hk": ("tmall", ""),
    "aliexpress.com": ("aliexpress", ""),
    "aliexpress.us": ("aliexpress", ""),
    "aliexpress.ru": ("aliexpress", ""),
    "alibaba.com": ("alibaba", ""),
    "1688.com": ("1688", ""),
    **{domain: ("lazada", country) for domain, country in _LAZADA.items()},
    **{domain: ("shopee", country) for domain, country in _SHOPEE.items()},
    **{f"amazon.{tld}": ("amazon", tld) for tld in _AMAZON_TLDS},
    **{domain: ("ebay", "") for domain in _EBAY},
}
_LAZADA_SITE = {country: domain for domain, country in _LAZADA.items()}
_SHOPEE_SITE = {country: domain for domain, country in _SHOPEE.items()}

_SHORTENERS = (
    "bit.ly", "t.co", "tinyurl.com", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
    "shorturl.at", "tiny.cc", "rb.gy", "lnkd.in", "fb.me", "t.cn", "url.cn", "dwz.cn",
    "amzn.to", "amzn.eu", "amzn.asia", "amzn.com", "a.co", "ebay.us", "tb.cn", "m.tb.cn",
    "s.click.taobao.com", "s.click.aliexpress.com", "click.aliexpress.com", "a.aliexpress.com",
    "shp.ee", "shope.ee", "qr.1688.com",
    *(f"s.{domain}" for domain in (*_LAZADA, *_SHOPEE)),
    *(f"c.{domain}" for domain in _LAZADA),
)  # fmt: skip
_SEARCH_ENGINES = (
    "bing.com", "duckduckgo.com", "baidu.com", "search.yahoo.com", "search.yahoo.co.jp", "search.brave.com",
    "ecosia.org", "ask.com", "startpage.com",
)  # fmt: skip
_SOCIAL = (
    "facebook.com", "instagram.com", "twitter.com", "x.com", "tiktok.com", "youtube.com", "youtu.be",
    "reddit.com", "linkedin.com", "pinterest.com", "weibo.com", "discord.com", "discord.gg", "discordapp.com",
    "t.me", "telegram.me", "whatsapp.com", "wa.me", "vk.com", "threads.net", "snapchat.com", "bsky.app",
    "xiaohongshu.com", "douyin.com",
)  # fmt: skip
_GOOGLE = re.compile(r"(?:(?:www|m|shopping|images|news|maps|translate)\.)?google\.(?:com?\.)?[a-z]{2,3}")
# A refusal on a parent domain is lifted for these hosts, and for these paths on social networks.
_SHOP_HOSTS = {"shop.tiktok.com"}
_SOCIAL_SHOP_PATHS = {"facebook.com": ("/marketplace/item/",), "tiktok.com": ("/view/product/",)}

_HOST_RULES: dict[str, str] = {
    **dict.fromkeys(_SEARCH_ENGINES, "search"),
    **dict.fromkeys(_SOCIAL, "social"),
    **dict.fromkeys(_SHORTENERS, "shortener"),
    **dict.fromkeys(_SHOP_HOSTS, "shop"),
}

# ---------------------------------------------------------- URL hygiene

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_PORT = re.compile(r"[0-9]{1,5}")
_DEFAULT_PORT = {"http": 80, "https": 443}
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp", "Zs"}

_HEX = frozenset(string.hexdigits)
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _UNRESERVED | frozenset("!$'()*+,;=:@/?")  # no `&`: pairs are already split on it

# Parameters that say who shared a link or how it was found, never which listing it is.
_TRACKING = frozenset(
    {
        "spm", "scm", "pvid", "ref", "ref_", "_trksid", "_trkparms", "fbclid", "gclid", "gclsrc", "dclid",
        "msclkid", "yclid", "twclid", "ttclid", "igshid", "igsh", "mc_cid", "mc_eid", "_ga", "_gl", "mkt_tok",
        "srsltid", "sp_atk", "xptdk", "share_id", "btsid", "ws_ab_test", "gatewayadapt", "afsmartredirect",
        "terminal_id", "ali_trackid", "ali_refid", "laz_trackid", "clicktrackinfo", "spm_id_from", "mkevt",
        "mkcid", "mkrid", "campid", "toolid", "customid", "amdata", "itmmeta", "trafficfrom", "exlaz",
        "wt.mc_id", "cmpid", "abbucket",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "aff_", "algo_", "pf_rd_", "pd_rd_", "_trk")


@dataclass(frozen=True)
class _Url:
    """A URL split into normalised parts; `path` has no dot segments and no trailing slash."""

    scheme: str
    host: str
    port: int | None
    path: str
    query: tuple[tuple[str, str], ...]  # tracking removed, de-duplicated, sorted

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.query if key.lower() == name), None)


def _clean_text(text: object) -> str:
    """Strip white space and Discord's `<…>`; refuse what cannot be a single link."""
    if not isinstance(text, str):
        raise InvalidInput("Paste a listing's link as text.")
    cleaned = text.strip()
    if cleaned.startswith("<") and cleaned.endswith(">"):
        cleaned = cleaned[1:-1].strip()
    if not cleaned:
        raise InvalidInput("Paste a listing's link; the text is empty.")
    if len(cleaned) > MAX_URL_LENGTH:
        raise InvalidInput(f"The link is {len(cleaned):,} characters long; at most {MAX_URL_LENGTH:,} are accepted.")
    if any(ch.isspace() for ch in cleaned):
        raise InvalidInput("A link cannot contain spaces; paste only the listing's address.")
    if any(unicodedata.category(ch) in _HIDDEN_CATEGORIES for ch in cleaned):
        raise InvalidInput("The link contains control or invisible characters; copy it again from the address bar.")
    return unicodedata.normalize("NFC", cleaned)


def _split_scheme(text: str) -> tuple[str, str, bool]:
    """(scheme, rest after `//`, whether a scheme was given). `host:443/x` is a host, not a scheme."""
    match = _SCHEME.match(text)
    if match:
        scheme, rest = match.group(1).lower(), text[match.end() :]
        if rest.startswith("//"):
            return scheme, rest[2:], True
        looks_like_port = rest[:1].isascii() and rest[:1].isdigit()
        if not looks_like_port and "." not in scheme:
            if scheme in _DEFAULT_PORT:
                raise InvalidInput("This is not a complete web address; a listing link looks like https://host/path.")
            return scheme, "", True
    if text.startswith("//"):
        return "https", text[2:], False
    return "https", text, False


def _check_scheme(scheme: str) -> None:
    if scheme not in _DEFAULT_PORT:
        shown = scheme[:20]
        raise InvalidInput(f"Only web links (http:// or https://) can be listings; this is a `{shown}:` link.")


def _normalise_host(raw: str, had_scheme: bool) -> str:
    """Lower-case, IDNA-encode and check that a host is a public domain name."""
    if not raw:
        raise InvalidInput("The link has no host name; a listing link looks like https://host/path.")
    if raw.startswith("["):
        raise InvalidInput("The link points at an IP address, not a shop's domain name.")
    try:
        host = raw.lower().encode("idna").decode("ascii")
    except ValueError:  # UnicodeError: empty or over-long labels, prohibited characters
        raise InvalidInput("The link's host name is not a valid domain name.") from None
    host = host.removesuffix(".")
    labels = host.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels) or len(host) > 253:
        raise InvalidInput("The link's host name is not a valid domain name.")
    for label in labels:
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except ValueError:
                raise InvalidInput("The link's host name is not a valid domain name.") from None
    if host == "localhost" or host.endswith(".localhost"):
        raise InvalidInput("The link points at `localhost`, this computer, not a shop.")
    if len(labels) < 2:
        if not had_scheme:
            raise InvalidInput(
                "This is not a link; paste the listing's address, e.g. `https://item.taobao.com/item.htm?id=…`."
            )
        raise InvalidInput(f"The host {code(host)} has no dot, so it is not a public website.")
    if labels[-1].isdigit():
        raise InvalidInput("The link points at an IP address, not a shop's domain name.")
    if not _TLD.fullmatch(labels[-1]):
        raise InvalidInput(f"The host {code(host)} is not a public domain name.")
    return host


def _normalise_port(raw: str) -> int | None:
    if not raw:
        return None
    if not _PORT.fullmatch(raw) or not 0 < int(raw) < 65536:
        raise InvalidInput("The link's port number is not valid.")
    return int(raw)


def _normalise_escapes(part: str, safe: frozenset[str]) -> str:
    """One spelling per character: decode `%41`-style escapes of unreserved characters, upper-case
    other escapes, and percent-encode (as UTF-8) everything outside `safe`."""
    out: list[str] = []
    i, end = 0, len(part)
    while i < end:
        ch = part[i]
        if ch == "%" and i + 2 < end and part[i + 1] in _HEX and part[i + 2] in _HEX:
            decoded = chr(int(part[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + part[i + 1 : i + 3].upper())
            i += 3
            continue
        if ch in safe:
            out.append(ch)
        else:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8"))
        i += 1
    return "".join(out)


def _normalise_path(raw: str) -> str:
    """Escapes normalised, `.` and `..` segments resolved, trailing slashes dropped (`/` → ``)."""
    segments: list[str] = []
    for segment in _normalise_escapes(raw, _PATH_SAFE).split("/")[1:]:
        if segment == ".":
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return ("/" + "/".join(segments)).rstrip("/")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING or lowered.startswith(_TRACKING_PREFIXES)


def _normalise_query(raw: str) -> tuple[tuple[str, str], ...]:
    pairs: set[tuple[str, str]] = set()
    for piece in raw.split("&"):
        name, _, value = piece.partition("=")
        name = _normalise_escapes(name, _QUERY_SAFE)
        if name and not _is_tracking(name):
            pairs.add((name, _normalise_escapes(value, _QUERY_SAFE)))
    return tuple(sorted(pairs))


def _encode_query(query: tuple[tuple[str, str], ...]) -> str:
    return "&".join(f"{name}={value}" if value else name for name, value in query)


def _parse(text: str) -> _Url:
    scheme, rest, had_scheme = _split_scheme(text)
    _check_scheme(scheme)
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        raise InvalidInput("Links with a user name or password in them are not accepted; remove the part before `@`.")
    host_part, port_part = authority, ""
    if ":" in authority and not authority.startswith("["):
        host_part, _, port_part = authority.rpartition(":")
    host = _normalise_host(host_part, had_scheme)
    port = _normalise_port(port_part)
    if port == _DEFAULT_PORT[scheme]:
        port = None
    path, _, query = tail.partition("#")[0].partition("?")
    return _Url(scheme, host, port, _normalise_path(path), _normalise_query(query))


def _host_rule(host: str) -> tuple[str, str, str] | None:
    """("market", name, region) or (refusal kind, domain, "") for the most specific known domain."""
    if _GOOGLE.fullmatch(host):
        return ("search", host, "")
    labels = host.split(".")
    for i in range(len(labels) - 1):
        domain = ".".join(labels[i:])
        if domain in _HOST_RULES:
            return (_HOST_RULES[domain], domain, "")
        if domain in _MARKET_HOSTS:
            return ("market", *_MARKET_HOSTS[domain])
    return None


# ------------------------------------------------------ marketplace rules

_NUMBER = r"([0-9]{1,25})"
_TAOBAO_PATHS = (re.compile(rf"/item/{_NUMBER}\.html?"), re.compile(rf"/i{_NUMBER}\.html?"))
_ALIEXPRESS_PATHS = (
    re.compile(rf"/(?:s/)?(?:item|i)/(?:[^/]+/)?{_NUMBER}\.html?"),
    re.compile(rf"/store/product/[^/]+/[0-9]+_{_NUMBER}\.html?"),
)
_ALIBABA_PATHS = (
    re.compile(rf"/product-detail/(?:[^/]*_)?{_NUMBER}\.html?"),
    re.compile(rf"/product/{_NUMBER}(?:-[0-9]+)?(?:/[^/]*)?"),
)
_1688_PATHS = (re.compile(rf"/offer/{_NUMBER}\.html?"),)
_LAZADA_PATH = re.compile(rf"(?:\A|[/-])i{_NUMBER}(?:-s[0-9]{{1,25}})?\.html?\Z")
_SHOPEE_PATHS = (
    re.compile(rf"/(?:universal-link/)?product/{_NUMBER}/{_NUMBER}"),
    re.compile(rf"(?:/|.*-)i\.{_NUMBER}\.{_NUMBER}"),
)
_AMAZON_PATH = re.compile(
    r"/(?:dp|dp/product|gp/product|gp/aw/d|gp/offer-listing|exec/obidos/asin|exec/obidos/tg/detail/-|o/asin)"
    r"/([a-z0-9]{10})(?:/|\Z)",
    re.IGNORECASE | re.ASCII,  # a Kelvin sign must not pass for a K in an ASIN
)
_AMAZON_SELLER = re.compile(r"[A-Za-z0-9]{5,20}")
_EBAY_PATHS = (re.compile(rf"/itm/(?:[^/]+/)?{_NUMBER}"),)

# What a marketplace page without an item id is, to say so: (kind, pattern on host + path).
_PAGES: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    "taobao": (("search", re.compile(r"(?:s|list|search)\.taobao\.com/|[^/]*/search")),
               ("shop", re.compile(r"shop[0-9]*\.taobao\.com/"))),
    "tmall": (("search", re.compile(r"list\.tmall\.com/|[^/]*/search")),),
    "aliexpress": (("search", re.compile(r"[^/]*/(?:w/)?wholesale|[^/]*/(?:af|category)/")),
                   ("shop", re.compile(r"[^/]*/store/"))),
    "alibaba": (("search", re.compile(r"[^/]*/(?:trade/search|showroom/|products/)")),),
    "1688": (("search", re.compile(r"s\.1688\.com/")),),
    "lazada": (("search", re.compile(r"[^/]*/(?:catalog|tag)(?:/|\Z)")), ("shop", re.compile(r"[^/]*/shop/"))),
    "shopee": (("search", re.compile(r"[^/]*/search(?:/|\Z)")), ("shop", re.compile(r"[^/]*/shop/"))),
    "amazon": (("search", re.compile(r"[^/]*/(?:s|gp/search)(?:/|\Z)")),
               ("seller", re.compile(r"[^/]*/(?:sp\Z|stores/|shops/|gp/aag/)"))),
    "ebay": (("search", re.compile(r"[^/]*/sch/")), ("seller", re.compile(r"[^/]*/(?:str|usr)/"))),
}  # fmt: skip


def _number(text: str | None) -> str | None:
    """An item number without leading zeros, or None when there is none (or it is zero)."""
    if text is None or not text.isascii() or not text.isdigit():
        return None
    stripped = text.lstrip("0")
    return stripped if 0 < len(stripped) <= 20 else None


def _match_number(patterns: tuple[re.Pattern[str], ...], path: str) -> str | None:
    for pattern in patterns:
        match = pattern.fullmatch(path)
        if match and (number := _number(match.group(1))):
            return number
    return None


def _taobao(url: _Url, region: str) -> Listing | None:
    item = _match_number(_TAOBAO_PATHS, url.path) or _number(url.param("id"))
    if item is None:
        return None
    return Listing("taobao", f"taobao:{item}", f"https://item.taobao.com/item.htm?id={item}", None)


def _tmall(url: _Url, region: str) -> Listing | None:
    item = _match_number(_TAOBAO_PATHS, url.path) or _number(url.param("id"))
    if item is None:
        return None
    return Listing("tmall", f"tmall:{item}", f"https://detail.tmall.com/item.htm?id={item}", None)


def _aliexpress(url: _Url, region: str) -> Listing | None:
    item = _match_number(_ALIEXPRESS_PATHS, url.path) or _number(url.param("productid"))
    if item is None:
        return None
    return Listing("aliexpress", f"aliexpress:{item}", f"https://www.aliexpress.com/item/{item}.html", None)


def _alibaba(url: _Url, region: str) -> Listing | None:
    item = _match_number(_ALIBABA_PATHS, url.path)
    if item is None:
        return None
    return Listing("alibaba", f"alibaba:{item}", f"https://www.alibaba.com/product-detail/_{item}.html", None)


def _1688(url: _Url, region: str) -> Listing | None:
    item = _match_number(_1688_PATHS, url.path) or _number(url.param("offerid"))
    if item is None:
        return None
    return Listing("1688", f"1688:{item}", f"https://detail.1688.com/offer/{item}.html", None)


def _lazada(url: _Url, region: str) -> Listing | None:
    match = _LAZADA_PATH.search(url.path)
    item = _number(match.group(1)) if match else None
    if item is None:
        return None
    site = f"https://www.{_LAZADA_SITE[region]}/products/i{item}.html"
    return Listing("lazada", f"lazada:{region}:{item}", site, None)


def _shopee(url: _Url, region: str) -> Listing | None:
    for pattern in _SHOPEE_PATHS:
        match = pattern.fullmatch(url.path)
        if match and (shop := _number(match.group(1))) and (item := _number(match.group(2))):
            site = f"https://{_SHOPEE_SITE[region]}/product/{shop}/{item}"
            return Listing("shopee", f"shopee:{region}:{shop}.{item}", site, f"shopee:{region}:{shop}")
    return None


def _amazon(url: _Url, region: str) -> Listing | None:
    match = _AMAZON_PATH.search(url.path)
    if match is None:
        return None
    asin = match.group(1).upper()
    smid = url.param("smid")
    seller = smid.upper() if smid and _AMAZON_SELLER.fullmatch(smid) else None
    site = f"https://www.amazon.{region}/dp/{asin}" + (f"?smid={seller}" if seller else "")
    return Listing("amazon", f"amazon:{region}:{asin}", site, f"amazon:{region}:{seller}" if seller else None)


def _ebay(url: _Url, region: str) -> Listing | None:
    item = _match_number(_EBAY_PATHS, url.path)
    if item is None and url.path.lower() == "/ws/ebayisapi.dll":
        item = _number(url.param("item"))
    if item is None:
        return None
    return Listing("ebay", f"ebay:{item}", f"https://www.ebay.com/itm/{item}", None)


_EXTRACTORS: dict[str, Callable[[_Url, str], Listing | None]] = {
    "taobao": _taobao,
    "tmall": _tmall,
    "aliexpress": _aliexpress,
    "alibaba": _alibaba,
    "1688": _1688,
    "lazada": _lazada,
    "shopee": _shopee,
    "amazon": _amazon,
    "ebay": _ebay,
}


def _not_a_listing(market: str, url: _Url) -> InvalidInput:
    """Say what the marketplace page is, when we can tell, so the user knows what to copy instead."""
    name = _NAMES[market]
    article = "an" if name[0] in "AEIOUaeiou" else "a"
    where = url.host + url.path
    for kind, pattern in _PAGES.get(market, ()):
        if pattern.match(where):
            return InvalidInput(f"This is {article} {name} {kind} page, not a listing; {_OPEN_LISTING}")
    return InvalidInput(f"This {name} link has no item id, so it is not a listing; {_OPEN_LISTING}")


def _generic(url: _Url) -> Listing:
    """`web:` + host without `www.` (and with a non-default port) + path + cleaned, sorted query."""
    host = url.host
    key_host = host.removeprefix("www.") if host.count(".") >= 2 and host.startswith("www.") else host
    port = f":{url.port}" if url.port is not None else ""
    query = _encode_query(url.query)
    suffix = url.path + (f"?{query}" if query else "")
    site = f"{url.scheme}://{host}{port}{url.path or '/'}" + (f"?{query}" if query else "")
    return Listing("web", f"web:{key_host}{port}{suffix}", site, None)


def _refuse_host(kind: str, domain: str, url: _Url) -> None:
    if kind == "shortener":
        raise InvalidInput(
            f"{code(domain)} is a short link; expand the short link first: open it and paste the address it leads to."
        )
    if kind == "search":
        raise InvalidInput(f"{code(domain)} is a search engine, not a shop; {_OPEN_LISTING}")
    if kind == "social" and not url.path.startswith(_SOCIAL_SHOP_PATHS.get(domain, ())):
        raise InvalidInput(f"{code(domain)} is a social network, not a shop; {_OPEN_LISTING}")


def canonicalise(text: str) -> Listing:
    """The listing a pasted link points at. Raises `InvalidInput` saying why when it is not one."""
    url = _parse(_clean_text(text))
    rule = _host_rule(url.host)
    if rule is None or rule[0] != "market":
        if rule is not None:
            _refuse_host(rule[0], rule[1], url)
        listing = _generic(url)
    else:
        _, market, region = rule
        found = _EXTRACTORS[market](url, region)
        if found is None:
            raise _not_a_listing(market, url)
        listing = found
    if len(listing.url) > MAX_URL_LENGTH or len(listing.key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            "The link is too long once cleaned up; remove the parameters that do not identify the listing."
        )
    return listing


# ----------------------------------------------------------------- sellers

_PLATFORM_FORM = re.compile(r"([A-Za-z0-9]+):(\S+)")
_AROUND_COLON = re.compile(r"\s*:\s*")
_REGIONAL = {"lazada", "shopee", "amazon"}


def _platform_seller(platform: str, ident: str) -> str:
    """`Shopee:SG:123` → `shopee:sg:123`: the platform and region are case-insensitive, the id is
    kept (Amazon's merchant ids upper-cased, like ASINs)."""
    if platform in _REGIONAL and ":" in ident:
        region, _, ident = ident.partition(":")
        prefix = f"{platform}:{region.lower()}:"
    else:
        prefix = f"{platform}:"
    return prefix + (ident.upper() if platform == "amazon" else ident)


def seller_key(text: str) -> str:
    """A comparable key for a free-text seller field. `platform:id` forms (as `canonicalise` makes
    them) keep their id; anything else is compared case- and width-insensitively."""
    cleaned = " ".join(unicodedata.normalize("NFKC", text).split())
    if not cleaned:
        raise InvalidInput("The seller cannot be empty.")
    if any(unicodedata.category(ch) in _HIDDEN_CATEGORIES - {"Zs"} for ch in cleaned):
        raise InvalidInput("The seller contains control or invisible characters.")
    form = _PLATFORM_FORM.fullmatch(_AROUND_COLON.sub(":", cleaned))
    if form and form.group(1).lower() in MARKETPLACES:
        key = _platform_seller(form.group(1).lower(), form.group(2))
    else:
        key = " ".join(unicodedata.normalize("NFKC", cleaned.casefold()).split())
    if len(key) > SELLER_MAX:
        raise InvalidInput(f"The seller is {len(key)} characters long; at most {SELLER_MAX} are allowed.")
    return key

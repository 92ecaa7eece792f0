"""Counterfeit-network indicators pulled out of intel reports and normalised for correlation.

Why: two reports about one network rarely spell its traces the same way (`+86 138 0013 8000` and
`008613800138000`, `SF 1234 5678 9012` and `sf123456789012`, a shop's home page and one of its
listings). Reports are linked by exact equality of `(type, value)`, so every spelling of one trace
must reduce to one value. `display` keeps a readable form to show people.

Pure and fast: no network (the public-suffix list is tldextract's bundled snapshot), no database,
no Discord; every regex is linear-time. `extract` never raises except `InvalidInput` for more than
`MAX_INDICATORS`; `normalise` and `parse_lookup` return or raise `InvalidInput` with a reason.

Value formats (what correlation matches on):

    listing   the listing key of `canonicalise`: `taobao:612345678901`, `shopee:sg:123.456`, …
              (marketplace listings only; display is the canonical URL)
    seller    `seller_key` of a `platform:id` or free-text seller; eBay ids case-folded. From
              marketplace shop URLs:
                shopN.taobao.com (any subdomain depth), shop.m.taobao.com/…?shop_id=N → taobao:shopN
                */store/N and */store/product/Title/N_ITEM.html on AliExpress → aliexpress:N
                NAME.en.alibaba.com (also on its listings)                  → alibaba:name
                shopXXX.1688.com                                              → 1688:shopxxx
                lazada.CC/shop/SLUG                                           → lazada:cc:slug
                shopee.CC/shop/N (and every Shopee listing)                   → shopee:cc:N
                any Amazon URL with seller=, smid= or me=                     → amazon:tld:ID (ID upper-case)
                ebay.*/usr/NAME, ebay.*/str/NAME                              → ebay:name
    domain    registrable domain of a non-marketplace URL or a `domain:` value, lower-case IDNA
              (`xn--bcher-kva.de`). Public-suffix *private* entries count, so shops hosted on
              `myshopify.com`, `blogspot.com`, … keep their own name (`fakeshop.myshopify.com`).
              Social networks, search engines and link shorteners are never domains.
    email     `local@domain`, case-folded, domain in IDNA
    phone     E.164 (`+8613800138000`), validated by phonenumbers
    wechat    WeChat id, case-folded (6–20 of letters, digits, `_`, `-`, starting with a letter)
    qq        digits (5–11, no leading zero)
    alipay    the account's email or E.164 phone, normalised as those types
    bank      IBAN without spaces, upper-case, mod-97 checked; or the domestic account's 8–30 digits
    waybill   upper-case letters and digits, 8–40, at least one digit (`SF123456789012`)
    address   folded text: NFKC, case-folded, punctuation → space, white space collapsed, no
    company   spaces next to CJK characters (`广东省深圳市龙华区民治街道123号`)

Where indicators come from:

- Indicator lines: one per line, `type: value` (aliases such as `微信：`, `Tracking No.:`, `WhatsApp:`
  are accepted; the colon may be full-width; `- `/`* `/`1. ` bullets and `**`/`` ` `` are ignored).
  Several values of a list type (email, phone, wechat, qq, alipay, waybill, domain) may share a
  line, separated by `,` `;` `、` `|` or ` / ` (and by spaces for email, wechat, qq, domain). A bare
  URL, email, `+` phone or IBAN needs no prefix. A line that cannot be used is returned verbatim in
  `unrecognised`, also when only some of its values could be used (those are still extracted).
  `wechat:` with a phone number instead of an id yields a phone indicator. A URL under `url:`,
  `listing:`, `seller:` or `domain:` yields whatever the URL is (listing and its seller, shop, site).
- The body: URLs (`http(s)://`, defanged `hxxp(s)://` and `[.]`, or `www.`), emails and phone
  numbers written with a leading `+`, found anywhere; anything unusable is skipped.

Indicator lines come first in the result, then the body's, each once (first spelling wins).
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers
import tldextract

from bot.errors import InvalidInput
from bot.rendering import code

# The listing module's URL hygiene (schemes, hosts, IDNA, refused hosts) is reused as is, so that
# both modules accept and refuse exactly the same links.
from bot.services.listings import (
    _LAZADA_SITE,
    _SHOPEE_SITE,
    MAX_URL_LENGTH,
    Listing,
    _clean_text,
    _host_rule,
    _parse,
    _Url,
    canonicalise,
    seller_key,
)

INDICATOR_TYPES = (
    "listing", "seller", "domain", "email", "phone", "wechat", "qq", "alipay", "bank", "waybill", "address", "company",
)  # fmt: skip
MAX_INDICATORS = 200
MAX_VALUE = 300  # characters of a typed value (links may be up to MAX_URL_LENGTH) and of a normalised value


@dataclass(frozen=True)
class Indicator:
    """One trace of a network. `(type, value)` is what reports are linked on."""

    type: str
    value: str
    display: str


@dataclass(frozen=True)
class Extraction:
    """Indicators of a report, each once in first-seen order, and indicator lines that were not understood."""

    indicators: tuple[Indicator, ...]
    unrecognised: tuple[str, ...]


# ------------------------------------------------------------------ text hygiene

_INVISIBLE = {"Cf", "Cs", "Co", "Cn"}  # format (zero-width, bidi), surrogates, private use, unassigned
_BLANK = {"Cc", "Zs", "Zl", "Zp"}


def _visible(text: str) -> str:
    """Invisible characters removed, controls and exotic spaces turned into plain spaces, collapsed."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in _INVISIBLE:
            continue
        out.append(" " if category in _BLANK else ch)
    return " ".join("".join(out).split())


def _prep(text: str) -> str:
    """A typed value as plain text: visible characters only, NFKC (full-width → ASCII), collapsed."""
    return _visible(unicodedata.normalize("NFKC", _visible(text)))


def _check_length(text: str, limit: int = MAX_VALUE) -> None:
    if not text:
        raise InvalidInput("The value is empty.")
    if len(text) > limit:
        raise InvalidInput(f"The value is {len(text):,} characters long; at most {limit:,} are accepted.")


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _fold_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in _INVISIBLE:
            continue
        out.append(" " if category in _BLANK or category[0] == "P" else ch)
    words = "".join(out).split()
    if not words:
        return ""
    joined = [words[0]]
    for word in words[1:]:  # CJK text has no spaces between words: drop any next to a CJK character
        if _wide(joined[-1][-1]) or _wide(word[0]):
            joined[-1] += word
        else:
            joined.append(word)
    return " ".join(joined)


def _fold(text: str) -> str:
    """Addresses and company names: NFKC, case-folded, punctuation and white space → one space."""
    for _ in range(5):  # NFKC after removals can compose again; stop at the fixed point
        folded = _fold_once(text)
        if folded == text:
            break
        text = folded
    return text


# ------------------------------------------------------------------------- URLs

_URL_START = re.compile(r"(?:h(?:tt|xx)ps?://|www\.)", re.IGNORECASE)
_DEFANG = re.compile(r"\[\.\]|\[dot\]|\(\.\)", re.IGNORECASE)
_TRAILING = ".,;:!?'\"*_~|>]}"


def _refang(text: str) -> str:
    """Discord's `<…>` removed and defanged links (`hxxps://evil[.]example`) made whole."""
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if text[:4].lower() == "hxxp":
        text = "http" + text[4:]
    return _DEFANG.sub(".", text)


def _looks_like_url(text: str) -> bool:
    return _URL_START.match(text.removeprefix("<")) is not None


@functools.cache
def _tld_extractor() -> tldextract.TLDExtract:
    """tldextract on its bundled public-suffix snapshot only. An explicit empty `suffix_list_urls`
    (which also overrides TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS) means no fetch is ever tried, and
    `cache_dir=None` means no disk cache: the snapshot is read with pkgutil on first use."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@functools.lru_cache(maxsize=4096)
def _registrable(host: str) -> str:
    """`shop.example.co.uk` → `example.co.uk`; refuses hosts with no registrable part."""
    parts = _tld_extractor().extract_str(host)
    if not parts.suffix:
        raise InvalidInput(f"{code(host, 80)} does not end in a public domain suffix.")
    if not parts.domain:
        raise InvalidInput(f"{code(host, 80)} is a public suffix, not a site.")
    return f"{parts.domain}.{parts.suffix}"


def _domain_display(value: str) -> str:
    """The domain as people read it, with the IDNA form alongside when they differ (look-alikes)."""
    if "xn--" not in value:
        return value
    try:
        shown = value.encode("ascii").decode("idna")
    except ValueError:
        return value
    return f"{shown} ({value})" if shown != value else value


_KINDS = {
    "market": "a marketplace",
    "search": "a search engine",
    "social": "a social network",
    "shortener": "a link shortener",
    "shop": "a social network's shop",
}


def _domain_indicator(host: str) -> Indicator:
    rule = _host_rule(host)
    if rule is not None:
        kind = _KINDS.get(rule[0], "a known site")
        raise InvalidInput(f"{code(host, 80)} is {kind}, not a standalone shop; give the listing or seller instead.")
    value = _registrable(host)
    if len(value) > MAX_VALUE:  # cannot happen for a valid host name (253), kept as a guard
        raise InvalidInput("The domain name is too long.")
    return Indicator("domain", value, _domain_display(value))


# --------------------------------------------------------------- shops and sellers

_TAOBAO_SHOP_HOST = re.compile(r"(shop[0-9]{1,20})\.(?:[a-z0-9-]{1,63}\.)*taobao\.com")
_ALIBABA_SHOP_HOST = re.compile(r"([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.(?:m\.)?en\.alibaba\.com")
_1688_SHOP_HOST = re.compile(r"(shop[a-z0-9-]{1,40})\.(?:m\.)?1688\.com")
_ALIEXPRESS_STORE = re.compile(r"/store/(?:([0-9]{1,20})(?:/.*)?|product/[^/]+/([0-9]{1,20})_[0-9]{1,25}\.html?)")
_LAZADA_SHOP = re.compile(r"/shop/([a-z0-9][a-z0-9-]{0,99})(?:/.*)?", re.IGNORECASE | re.ASCII)
_SHOPEE_SHOP = re.compile(r"/shop/([0-9]{1,20})(?:/.*)?")
_AMAZON_SELLER = re.compile(r"[A-Za-z0-9]{5,20}")
_EBAY_SELLER = re.compile(r"/(?:usr|str)/([A-Za-z0-9._*-]{1,64})(?:/.*)?")


def _digits(text: str | None) -> str | None:
    if text is None or not text.isascii() or not text.isdigit():
        return None
    stripped = text.lstrip("0")
    return stripped if 0 < len(stripped) <= 20 else None


def _shop_seller(market: str, region: str, url: _Url) -> str | None:
    """The seller key a marketplace URL names (a shop page, or a listing whose URL shows its shop)."""
    if market == "taobao":
        if match := _TAOBAO_SHOP_HOST.fullmatch(url.host):
            return f"taobao:{match.group(1)}"
        if url.path.startswith("/shop/") and (shop := _digits(url.param("shop_id"))):
            return f"taobao:shop{shop}"
    elif market == "aliexpress":
        if match := _ALIEXPRESS_STORE.fullmatch(url.path):
            store = _digits(match.group(1) or match.group(2))
            return f"aliexpress:{store}" if store else None
    elif market == "alibaba":
        if (match := _ALIBABA_SHOP_HOST.fullmatch(url.host)) and match.group(1) not in ("www", "m"):
            return f"alibaba:{match.group(1)}"
    elif market == "1688":
        if match := _1688_SHOP_HOST.fullmatch(url.host):
            return f"1688:{match.group(1)}"
    elif market == "lazada":
        if match := _LAZADA_SHOP.fullmatch(url.path):
            return f"lazada:{region}:{match.group(1).lower()}"
    elif market == "shopee":
        if (match := _SHOPEE_SHOP.fullmatch(url.path)) and (shop := _digits(match.group(1))):
            return f"shopee:{region}:{shop}"
    elif market == "amazon":
        for name in ("seller", "smid", "me"):
            ident = url.param(name)
            if ident and _AMAZON_SELLER.fullmatch(ident):
                return f"amazon:{region}:{ident.upper()}"
    elif market == "ebay" and (match := _EBAY_SELLER.fullmatch(url.path)):
        return f"ebay:{match.group(1).casefold()}"
    return None


_SHOP_URL: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], str | None]]] = {
    "taobao": (re.compile(r"taobao:(shop[0-9]{1,20})"), lambda m: f"https://{m.group(1)}.taobao.com"),
    "aliexpress": (re.compile(r"aliexpress:([0-9]{1,20})"), lambda m: f"https://www.aliexpress.com/store/{m.group(1)}"),
    "alibaba": (re.compile(r"alibaba:([a-z0-9-]{1,63})"), lambda m: f"https://{m.group(1)}.en.alibaba.com"),
    "1688": (re.compile(r"1688:(shop[a-z0-9-]{1,40})"), lambda m: f"https://{m.group(1)}.1688.com"),
    "lazada": (
        re.compile(r"lazada:([a-z]{2}):([a-z0-9][a-z0-9-]{0,99})"),
        lambda m: f"https://www.{_LAZADA_SITE[m.group(1)]}/shop/{m.group(2)}" if m.group(1) in _LAZADA_SITE else None,
    ),
    "shopee": (
        re.compile(r"shopee:([a-z]{2}):([0-9]{1,20})"),
        lambda m: f"https://{_SHOPEE_SITE[m.group(1)]}/shop/{m.group(2)}" if m.group(1) in _SHOPEE_SITE else None,
    ),
    "amazon": (
        re.compile(r"amazon:([a-z.]{2,6}):([A-Z0-9]{5,20})"),
        lambda m: f"https://www.amazon.{m.group(1)}/sp?seller={m.group(2)}",
    ),
    "ebay": (re.compile(r"ebay:([a-z0-9._*-]{1,64})"), lambda m: f"https://www.ebay.com/usr/{m.group(1)}"),
}


def _seller_indicator(key: str, shown: str | None = None) -> Indicator:
    """A seller key with a shop link to show when the key's shape says where the shop is."""
    platform = key.partition(":")[0]
    if platform in _SHOP_URL:
        pattern, build = _SHOP_URL[platform]
        if (match := pattern.fullmatch(key)) and (url := build(match)):
            return Indicator("seller", key, url)
    return Indicator("seller", key, shown or key)


def _seller_text(text: str) -> Indicator:
    key = seller_key(text)
    platform, sep, ident = key.partition(":")
    if sep and platform == "ebay":  # eBay user ids are case-insensitive
        key = "ebay:" + ident.casefold()
    if len(key) > MAX_VALUE:
        raise InvalidInput("The seller is too long.")
    return _seller_indicator(key, _visible(text)[:MAX_VALUE])


# ---------------------------------------------------------------- URL → indicators


def _url_indicators(text: str) -> list[Indicator]:
    """A listing (and its seller), a seller's shop, or a standalone site's domain; else InvalidInput."""
    text = _refang(_visible(text))
    if len(text) > MAX_URL_LENGTH:
        raise InvalidInput(f"The link is {len(text):,} characters long; at most {MAX_URL_LENGTH:,} are accepted.")
    url = _parse(_clean_text(text))  # the same hygiene as listings: scheme, host, IP, localhost, user info
    rule = _host_rule(url.host)
    if rule is None:
        return [_domain_indicator(url.host)]
    if rule[0] != "market":
        canonicalise(text)  # raises the listing module's reason (short link, search engine, social network)
        raise InvalidInput(f"Links on `{rule[1]}` are part of a social network, not indicators.")
    _, market, region = rule
    listing: Listing | None = None
    refusal: InvalidInput | None = None
    try:
        listing = canonicalise(text)
    except InvalidInput as refused:
        refusal = refused
    seller = (listing.seller if listing else None) or _shop_seller(market, region, url)
    found = [Indicator("listing", listing.key, listing.url)] if listing else []
    if seller:
        found.append(_seller_indicator(seller))
    if not found:
        raise refusal or InvalidInput("This marketplace link names no listing or seller.")
    return found


# -------------------------------------------------------------------- typed values

_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_EMAIL_SHAPE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,253}")


def _email_domain(raw: str) -> str:
    try:
        host = raw.lower().removesuffix(".").encode("idna").decode("ascii")
    except ValueError:
        raise InvalidInput("The email's domain is not a valid domain name.") from None
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or not _TLD.fullmatch(labels[-1]):
        raise InvalidInput("The email's domain is not a valid domain name.")
    for label in labels:
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except ValueError:
                raise InvalidInput("The email's domain is not a valid domain name.") from None
    return host


def _email(value: str) -> Indicator:
    text = _prep(value)
    if text[:7].lower() == "mailto:":
        text = text[7:].strip()
    text = text.removeprefix("<").removesuffix(">").strip()
    _check_length(text)
    if not _EMAIL_SHAPE.fullmatch(text):
        raise InvalidInput("An email address looks like name@example.com.")
    local, _, domain = text.rpartition("@")
    local = local.casefold()
    if not local.isascii() or not _LOCAL.fullmatch(local):
        raise InvalidInput("The part of the email address before `@` is not valid.")
    value_ = f"{local}@{_email_domain(domain)}"
    if len(value_) > MAX_VALUE:
        raise InvalidInput("The email address is too long.")
    return Indicator("email", value_, text)


def _region(default_region: str) -> str:
    region = (default_region or "").upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else "ZZ"


def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _phone(value: str, default_region: str = "CN", type_: str = "phone") -> Indicator:
    text = _prep(value)
    _check_length(text)
    number = _parse_phone(text, _region(default_region))
    if number is None and text.startswith("00"):  # the international prefix of most countries
        number = _parse_phone("+" + text[2:], "ZZ")
    if number is None or not phonenumbers.is_valid_number(number):
        where = "" if text.startswith(("+", "00")) else f" for region {_region(default_region)}"
        raise InvalidInput(f"{code(text, 40)} is not a valid phone number{where}; write it as +country number.")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return Indicator(type_, e164, shown)


_WECHAT = re.compile(r"[a-z][a-z0-9_-]{5,19}", re.IGNORECASE | re.ASCII)  # ASCII: "İ" must not pass as "i"
_QQ = re.compile(r"[1-9][0-9]{4,10}")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_IBAN_SHAPE = re.compile(r"[A-Za-z]{2}[0-9]{2}(?:[ -]?[A-Za-z0-9]){11,30}")
_ACCOUNT = re.compile(r"[0-9]{8,30}")
_DIGIT_RUN = re.compile(r"[0-9](?:[ -]?[0-9]){0,40}")
_WAYBILL = re.compile(r"[A-Z0-9]{8,40}")


def _wechat(value: str) -> Indicator:
    text = _prep(value)
    _check_length(text)
    if not _WECHAT.fullmatch(text):
        raise InvalidInput(
            "A WeChat id has 6 to 20 letters, digits, `_` or `-` and starts with a letter; "
            "for a phone number write `phone:`."
        )
    return Indicator("wechat", text.casefold(), text)


def _qq(value: str) -> Indicator:
    text = _prep(value)
    _check_length(text)
    digits = text.replace(" ", "")
    if not _QQ.fullmatch(digits):
        raise InvalidInput("A QQ number has 5 to 11 digits and does not start with 0.")
    return Indicator("qq", digits, text)


def _alipay(value: str, default_region: str) -> Indicator:
    text = _prep(value)
    _check_length(text)
    if "@" in text:
        found = _email(text)
    else:
        try:
            found = _phone(text, default_region)
        except InvalidInput:
            raise InvalidInput("An Alipay account is an email address or a phone number.") from None
    return Indicator("alipay", found.value, found.display)


def _iban(compact: str) -> str | None:
    """The IBAN when `compact` (upper-case, no spaces) passes the mod-97 check."""
    if not _IBAN.fullmatch(compact):
        return None
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return compact if int(number) % 97 == 1 else None


def _bank(value: str) -> Indicator:
    text = _prep(value)
    _check_length(text)
    compact = text.replace(" ", "").replace("-", "").upper()
    if _IBAN.fullmatch(compact):
        iban = _iban(compact)
        if iban is None:
            raise InvalidInput("This IBAN's check digits do not match; check it for typing mistakes.")
        return Indicator("bank", iban, " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)))
    if _ACCOUNT.fullmatch(compact):
        return Indicator("bank", compact, text)
    # "ICBC 6222 0212 3456 7890 123": a bank's name around exactly one account number
    runs = [run.group() for run in _DIGIT_RUN.finditer(text)]
    numbers = [re.sub(r"[ -]", "", run) for run in runs]
    long_ones = [number for number in numbers if len(number) >= 8]
    if len(long_ones) == 1 and _ACCOUNT.fullmatch(long_ones[0]):
        return Indicator("bank", long_ones[0], text)
    raise InvalidInput("A bank account is an IBAN or a domestic account number of 8 to 30 digits.")


def _waybill(value: str) -> Indicator:
    text = _prep(value)
    _check_length(text)
    compact = text.replace(" ", "").replace("-", "").upper()
    if not _WAYBILL.fullmatch(compact) or not any(ch.isdigit() for ch in compact):
        raise InvalidInput("A waybill (tracking) number has 8 to 40 letters and digits, including some digits.")
    return Indicator("waybill", compact, text)


def _folded(type_: str, value: str) -> Indicator:
    shown = _visible(value)
    _check_length(shown)
    folded = _fold(shown)
    if not folded:
        raise InvalidInput(f"The {type_} has no letters or digits.")
    if len(folded) > MAX_VALUE:
        raise InvalidInput(f"The {type_} is too long once normalised; at most {MAX_VALUE} characters are accepted.")
    return Indicator(type_, folded, shown)


# Listing keys typed back in (`listing: taobao:612345678901`) → a URL that `canonicalise` turns into that key.
_KEY = re.compile(r"([A-Za-z0-9]{1,12})\s*:\s*([A-Za-z0-9.:]{1,60})")
_KEY_URLS: dict[str, Callable[[list[str]], str | None]] = {
    "taobao": lambda p: f"https://item.taobao.com/item.htm?id={p[0]}" if len(p) == 1 else None,
    "tmall": lambda p: f"https://detail.tmall.com/item.htm?id={p[0]}" if len(p) == 1 else None,
    "aliexpress": lambda p: f"https://www.aliexpress.com/item/{p[0]}.html" if len(p) == 1 else None,
    "alibaba": lambda p: f"https://www.alibaba.com/product-detail/_{p[0]}.html" if len(p) == 1 else None,
    "1688": lambda p: f"https://detail.1688.com/offer/{p[0]}.html" if len(p) == 1 else None,
    "lazada": lambda p: (
        f"https://www.{_LAZADA_SITE[p[0].lower()]}/products/i{p[1]}.html"
        if len(p) == 2 and p[0].lower() in _LAZADA_SITE else None
    ),
    "shopee": lambda p: (
        f"https://{_SHOPEE_SITE[p[0].lower()]}/product/{p[1].replace('.', '/', 1)}"
        if len(p) == 2 and p[0].lower() in _SHOPEE_SITE else None
    ),
    "amazon": lambda p: f"https://www.amazon.{p[0].lower()}/dp/{p[1]}" if len(p) == 2 else None,
    "ebay": lambda p: f"https://www.ebay.com/itm/{p[0]}" if len(p) == 1 else None,
}  # fmt: skip


def _listing_key(text: str) -> Indicator | None:
    match = _KEY.fullmatch(text)
    if match is None or match.group(1).lower() not in _KEY_URLS:
        return None
    market = match.group(1).lower()
    url = _KEY_URLS[market](match.group(2).split(":"))
    if url is None:
        raise InvalidInput(f"{code(text, 60)} is not a valid {market} listing key.")
    try:
        listing = canonicalise(url)
    except InvalidInput:
        listing = None
    if listing is None or listing.marketplace != market:
        raise InvalidInput(f"{code(text, 60)} is not a valid {market} listing key.")
    return Indicator("listing", listing.key, listing.url)


def _listing(value: str) -> Indicator:
    text = _visible(value)
    _check_length(text, MAX_URL_LENGTH)
    if not _looks_like_url(text) and (keyed := _listing_key(text)):
        return keyed
    for found in _url_indicators(text):
        if found.type == "listing":
            return found
    raise InvalidInput("This link is not a marketplace listing; open the listing itself and copy its address.")


def _url_like_seller(folded: str) -> bool:
    """A seller value to read as a link: one with a scheme or `www.`, or a bare marketplace host."""
    if _looks_like_url(folded):
        return True
    host = folded.partition("/")[0].partition("?")[0]
    if " " in folded or "." not in host or ":" in host:
        return False
    rule = _host_rule(host)
    return rule is not None and rule[0] == "market"


def _seller(value: str) -> Indicator:
    text = _visible(value)
    _check_length(text, MAX_URL_LENGTH)
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    if _url_like_seller(folded):
        for found in _url_indicators(text):
            if found.type == "seller":
                return found
        raise InvalidInput("This link names no marketplace seller; give a shop page or `platform:id`.")
    _check_length(text)
    return _seller_text(text)


def _domain(value: str) -> Indicator:
    text = _refang(_visible(value))
    _check_length(text, MAX_URL_LENGTH)
    return _domain_indicator(_parse(_clean_text(text)).host)


def _typed(type_: str, value: str, default_region: str) -> Indicator:
    # A cheap first guard, before any per-character work; the exact limit is checked once cleaned.
    limit = MAX_URL_LENGTH if type_ in ("listing", "seller", "domain") else MAX_VALUE
    if len(value) > 4 * limit:
        raise InvalidInput(f"The value is {len(value):,} characters long; at most {limit:,} are accepted.")
    if type_ == "listing":
        return _listing(value)
    if type_ == "seller":
        return _seller(value)
    if type_ == "domain":
        return _domain(value)
    if type_ == "email":
        return _email(value)
    if type_ == "phone":
        return _phone(value, default_region)
    if type_ == "wechat":
        return _wechat(value)
    if type_ == "qq":
        return _qq(value)
    if type_ == "alipay":
        return _alipay(value, default_region)
    if type_ == "bank":
        return _bank(value)
    if type_ == "waybill":
        return _waybill(value)
    if type_ in ("address", "company"):
        return _folded(type_, value)
    raise InvalidInput(f"{code(type_, 20)} is not an indicator type; use one of {', '.join(INDICATOR_TYPES)}.")


def normalise(type_: str, value: str, *, default_region: str = "CN") -> Indicator:
    """One value of a known type, normalised. Raises `InvalidInput` saying why it cannot be used."""
    if not isinstance(type_, str) or not isinstance(value, str):
        raise InvalidInput("Give the indicator as text.")
    return _typed(type_.strip().lower(), value, default_region)


# ------------------------------------------------------------------ indicator lines

_ALIASES: dict[str, str] = {
    **dict.fromkeys(("listing", "item", "product", "商品", "宝贝", "商品链接"), "listing"),
    **dict.fromkeys(("url", "link", "链接", "网址"), "url"),
    **dict.fromkeys(("seller", "shop", "store", "vendor", "sellerid", "shopid", "storeid", "店铺", "卖家", "商家",
                     "店铺链接", "店铺名", "网店"), "seller"),
    **dict.fromkeys(("domain", "website", "site", "web", "网站", "域名", "独立站"), "domain"),
    **dict.fromkeys(("email", "mail", "mailto", "emailaddress", "邮箱", "电子邮件", "电邮", "邮件"), "email"),
    **dict.fromkeys(("phone", "tel", "telephone", "mobile", "cell", "whatsapp", "phonenumber", "phoneno", "电话",
                     "手机", "手机号", "电话号码", "联系电话", "手机号码"), "phone"),
    **dict.fromkeys(("wechat", "weixin", "wx", "vx", "wechatid", "wxid", "微信", "微信号", "v信"), "wechat"),
    **dict.fromkeys(("qq", "qq号", "qqnumber", "qqno", "qq号码"), "qq"),
    **dict.fromkeys(("alipay", "alipayaccount", "支付宝", "支付宝账号", "zfb"), "alipay"),
    **dict.fromkeys(("bank", "iban", "account", "bankaccount", "accountnumber", "accountno", "bankcard", "银行",
                     "银行卡", "银行账号", "银行卡号", "账号", "卡号", "收款账号"), "bank"),
    **dict.fromkeys(("waybill", "tracking", "trackingnumber", "trackingno", "express", "awb", "运单", "运单号",
                     "快递单号", "单号", "快递", "物流单号"), "waybill"),
    **dict.fromkeys(("address", "addr", "地址", "发货地址", "退货地址", "收货地址", "仓库地址"), "address"),
    **dict.fromkeys(("company", "factory", "manufacturer", "supplier", "工厂", "公司", "厂家", "公司名称", "厂名"),
                    "company"),
}  # fmt: skip
_PREFIX = re.compile(r"([^:：]{1,40}?)\s*[:：]\s*(.*)", re.DOTALL)
_BULLET = re.compile(r"(?:[-*•·‣▪◦>]+|[0-9]{1,3}[.)、])\s+")
_SEPARATORS = re.compile(r"\s*[,;，；、|]\s*|\s+/\s+")
_SPACE_SEPARATORS = re.compile(r"\s*[,;，；、|]\s*|\s+")
_LIST_TYPES = {"email", "phone", "wechat", "qq", "alipay", "waybill", "domain"}
_SPACE_SEPARATED = {"email", "wechat", "qq", "domain"}
_EMAIL_BARE = re.compile(r"(?:mailto:)?[^@\s:]{1,64}@[^@\s]{1,253}", re.IGNORECASE)


def _alias(prefix: str) -> str | None:
    key = "".join(ch for ch in unicodedata.normalize("NFKC", prefix).casefold() if ch.isalnum())
    return _ALIASES.get(key) or _ALIASES.get(key.rstrip("0123456789"))  # "Listing 2:", "Phone 1:"


def _strip_markup(text: str) -> str:
    return text.strip().strip("*`").strip()


def _bare(text: str, default_region: str) -> list[Indicator]:
    """A value with no prefix, when it can only be one thing."""
    if _looks_like_url(text):
        return _url_indicators(text)
    plain = _prep(text)
    if _EMAIL_BARE.fullmatch(plain):
        return [_email(plain)]
    if plain.startswith(("+", "(+")):
        return [_phone(plain, default_region)]
    if _IBAN_SHAPE.fullmatch(plain) and (iban := _iban(plain.replace(" ", "").replace("-", "").upper())):
        return [Indicator("bank", iban, " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)))]
    raise InvalidInput(
        "Say what this is: write `type: value`, e.g. `wechat: abc123`, `waybill: SF1234567890` "
        f"(types: {', '.join(INDICATOR_TYPES)})."
    )


def _lenient(kind: str, value: str, default_region: str) -> list[Indicator]:
    """A value under a prefix, as an indicator line or a lookup reads it."""
    value = _strip_markup(value)
    if kind in ("url", "listing", "seller", "domain") and (kind == "url" or _looks_like_url(value)):
        return _url_indicators(value)
    if kind == "wechat":
        try:
            return [_wechat(value)]
        except InvalidInput:
            try:
                return [_phone(value, default_region)]  # WeChat accounts are often given as their phone number
            except InvalidInput:
                pass
            raise
    return [_typed(kind, value, default_region)]


def _line(text: str, default_region: str) -> tuple[list[Indicator], bool]:
    """The indicators of one indicator line, and whether all of it was understood."""
    text = _strip_markup(text)
    if bullet := _BULLET.match(text):
        text = _strip_markup(text[bullet.end() :])
    if _looks_like_url(text):
        return _url_indicators(text), True
    match = _PREFIX.fullmatch(text)
    kind = _alias(match.group(1)) if match else None
    if match is None or kind is None:
        return _bare(text, default_region), True
    value = _strip_markup(match.group(2))
    if kind not in _LIST_TYPES:
        return _lenient(kind, value, default_region), True
    separators = _SPACE_SEPARATORS if kind in _SPACE_SEPARATED else _SEPARATORS
    pieces = [piece for piece in separators.split(value) if piece.strip()]
    if len(pieces) <= 1:
        return _lenient(kind, value, default_region), True
    found: list[Indicator] = []
    complete = True
    for piece in pieces[: MAX_INDICATORS + 1]:
        try:
            found += _lenient(kind, piece, default_region)
        except InvalidInput:
            complete = False
    if not found:
        return _lenient(kind, value, default_region), True  # one value that happens to hold a separator
    return found, complete


# ------------------------------------------------------------------------ the body

# Linear-time scanners: each starts only at a run's beginning (look-behind) and has bounded repetition.
_URL_SCAN = re.compile(
    r"(?<![A-Za-z0-9])(?:h(?:tt|xx)ps?://|www\.)[^\s<>\"'`，。、；：！？（）【】「」『』《》\u3000-\u303f\uff01\uff0c\uff1b\uff1f]{1,2048}",
    re.IGNORECASE,
)
_EMAIL_SCAN = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?){1,8}"
)
_PHONE_SCAN = re.compile(r"(?<![0-9A-Za-z+])\+[ ]?[0-9][0-9 ().\-]{4,28}[0-9]")


def _trim_url(text: str) -> str:
    """Punctuation that ends the sentence, not the link; `)` only when unbalanced (`…/Watch_(1)`)."""
    opened, closed = text.count("("), text.count(")")
    end = len(text)
    while end:
        last = text[end - 1]
        if last == ")" and closed > opened:
            closed -= 1
        elif last not in _TRAILING:
            break
        end -= 1
    return text[:end]


def _body_phone(text: str) -> Indicator | None:
    candidate = text
    for _ in range(4):  # drop trailing groups swallowed from the text around the number
        digits = sum(ch.isdigit() for ch in candidate)
        if 7 <= digits <= 15:
            number = _parse_phone(candidate, "ZZ")
            if number is not None and phonenumbers.is_valid_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
                return Indicator("phone", e164, shown)
        head, space, _ = candidate.rstrip(" ().-").rpartition(" ")
        if not space or digits < 7:
            return None
        candidate = head
    return None


def _candidate(kind: str, text: str) -> list[Indicator]:
    """The indicators of one value found in free text; nothing when it cannot be used."""
    if kind == "phone":
        phone = _body_phone(text)
        return [phone] if phone else []
    try:
        return _url_indicators(text) if kind == "url" else [_email(text)]
    except InvalidInput:
        return []


def _scan_body(body: str) -> Iterator[Indicator]:
    """URLs, emails and +phones in reading order. Candidates are found first (regexes only) and
    checked lazily, so a report over the limit stops early; repeated candidates are checked once."""
    urls = [(match.start(), _trim_url(match.group())) for match in _URL_SCAN.finditer(body)]
    starts = [start for start, _ in urls]
    ends = [start + len(url) for start, url in urls]

    def inside_url(at: int) -> bool:
        i = bisect.bisect_right(starts, at) - 1  # URL matches do not overlap and come in order
        return i >= 0 and at < ends[i]

    candidates = [(start, "url", url) for start, url in urls]
    candidates += [(m.start(), "email", m.group()) for m in _EMAIL_SCAN.finditer(body) if not inside_url(m.start())]
    candidates += [(m.start(), "phone", m.group()) for m in _PHONE_SCAN.finditer(body) if not inside_url(m.start())]
    candidates.sort(key=lambda candidate: candidate[0])
    checked: dict[tuple[str, str], list[Indicator]] = {}
    for _, kind, text in candidates:
        if (kind, text) not in checked:
            checked[kind, text] = _candidate(kind, text)
        yield from checked[kind, text]


# ------------------------------------------------------------------------- public


class _Collector:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], Indicator] = {}

    def add(self, indicators: list[Indicator] | Iterator[Indicator]) -> None:
        for indicator in indicators:
            key = (indicator.type, indicator.value)
            if key in self.seen:
                continue
            if len(self.seen) >= MAX_INDICATORS:
                raise InvalidInput(
                    f"A report can hold at most {MAX_INDICATORS} indicators; split it or keep the ones that matter."
                )
            self.seen[key] = indicator


def extract(body: str, indicator_lines: str = "", *, default_region: str = "CN") -> Extraction:
    """The indicators of a report: its indicator lines (typed) and what its body links or names."""
    collector = _Collector()
    unrecognised: list[str] = []
    read: dict[str, tuple[list[Indicator], bool]] = {}
    for raw in (indicator_lines or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line not in read:
            try:
                read[line] = _line(line, default_region)
            except InvalidInput:
                read[line] = ([], False)
        indicators, complete = read[line]
        collector.add(indicators)
        if not complete:
            unrecognised.append(line)
    collector.add(_scan_body(body or ""))
    return Extraction(tuple(collector.seen.values()), tuple(unrecognised))


def parse_lookup(text: str, *, default_region: str = "CN") -> Indicator:
    """What a search, watch or network lookup names: `type: value`, or a bare URL, email, +phone or IBAN."""
    if not isinstance(text, str):
        raise InvalidInput("Give the value to look up as text.")
    line = _strip_markup(text)
    if not line:
        raise InvalidInput("Give a value to look up, e.g. `wechat: abc123` or a listing link.")
    if _looks_like_url(line):
        return _url_indicators(line)[0]
    match = _PREFIX.fullmatch(line)
    kind = _alias(match.group(1)) if match else None
    if match is None or kind is None:
        return _bare(line, default_region)[0]
    value = _strip_markup(match.group(2))
    if kind in ("url", "wechat"):
        return _lenient(kind, value, default_region)[0]
    return _typed(kind, value, default_region)

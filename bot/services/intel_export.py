"""Intel exports: a CSV for spreadsheets and a STIX 2.1 bundle for threat-intelligence platforms.

Pure: no Discord, no database, no network. The caller loads the reports (with their
organisation, working group and indicators) and decides who may export what; every export
(a network's file from `export_network_csv` too) still refuses, with `ValueError`, any report
that is not `EXPORTABLE` (TLP:AMBER+STRICT, TLP:RED) or that was retracted — defence in depth,
nothing is written if one report is refused.

CSV: one row per (report, indicator), and one row with empty indicator cells for a report
without indicators; columns `CSV_HEADER`. Every cell goes through `takedown_csv.write_csv`, so a
cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) starts with a `'`: a
phone number reads `'+8613800138000`. `tlp` is written `TLP:GREEN`, `created_at` as UTC ISO 8601.
A network's file (`/intel network`) has one row per report instead, with its linking indicators
in one cell; the same cells, escaping and refusals.

STIX 2.1 bundle (built and validated by the `stix2` library), objects in this order:

- the TLP 2.0 marking definitions in use, exactly as OASIS publishes them: `tlp_2_0` property
  extension `TLP_EXTENSION` and the official ids in `TLP_MARKING_IDS`. stix2 3.x ships only the
  TLP 1.0 constants (`TLP_WHITE`, …), so the three exportable levels are built here and put in
  the bundle; they carry no markings themselves (they must equal the official objects).
- an Identity for the alliance (`identity_class` organization, id uuid5 of its name, fixed
  `IDENTITY_CREATED` timestamps), marked TLP:CLEAR: it names only the alliance, and one
  identity object must read the same in every export whatever the reports' levels.
- per report: a Report (name = title, description = body, published = created_at,
  report_types `threat-report`, `external_references` with the `IN-000123` id, the organisation
  and working group, `labels` `working-group:<slug>`, `object_refs` = its indicators and the
  identity), then one Indicator per indicator (`valid_from` = the report's created_at,
  `indicator_types` malicious-activity, `labels` = the alliance indicator type). Report and
  indicators carry the report's TLP marking and `created_by_ref` the identity.

Patterns: where STIX has a Cyber-observable for the trace the indicator is a STIX pattern —
a listing's canonical URL `[url:value = '…']`, `[domain-name:value = '…']`,
`[email-addr:value = '…']` — with `'` and `\\` escaped as STIX string literals require
(`stix_string`). STIX 2.1 has no observable for phone numbers, WeChat/QQ/Alipay accounts, bank
accounts, waybills, addresses, companies or marketplace sellers, so those use the pattern type
`alliance-indicator` (pattern_type is an open vocabulary, so this stays valid STIX 2.1) with the
pattern `<type>:<normalised value>` (`phone:+8613800138000`), the same `type: value` form people
use in the bot; consumers that do not know it keep the indicator as an opaque one. No custom
properties are used.

Deterministic: ids are uuid5 in `NAMESPACE` of the alliance name, the report id
(`report:IN-000123`) and the indicator (`indicator:IN-000123:phone:+8613800138000`), so an
indicator object belongs to one report (its marking and timestamps are that report's; platforms
correlate on the pattern); `created`/`modified` are the report's created_at/updated_at; the
bundle id hashes the ids and modified times of its objects. Exporting the same reports twice
gives the same bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from stix2 import v21

from bot.ids import format_id
from bot.services.networks import NetworkRow
from bot.services.takedown_csv import write_csv
from bot.services.tlp import EXPORTABLE
from db.models import IntelIndicator, IntelReport, Tlp

CSV_HEADER = (
    "id", "tlp", "group", "organisation", "created_at", "title",
    "indicator_type", "indicator_value", "indicator_display",
)  # fmt: skip

NETWORK_CSV_HEADER = ("id", "tlp", "group", "created_at", "title", "linking_indicators")

DEFAULT_IDENTITY = "Anti-Counterfeiting Alliance"
NAMESPACE = uuid.UUID("8a750787-7d7b-40a6-a426-9e5b45d56b16")  # this bot's STIX ids; never change it
IDENTITY_CREATED = datetime(2024, 1, 1, tzinfo=UTC)
PATTERN_TYPE = "alliance-indicator"
STIX_PATTERNS = {"listing": "url", "domain": "domain-name", "email": "email-addr"}

# OASIS TLP 2.0 marking definitions (cti-stix-common-objects, extension-definition-specifications/tlp-2.0).
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_MARKING_IDS = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
}
TLP_MARKINGS: dict[Tlp, Any] = {
    level: v21.MarkingDefinition(
        id=marking_id,
        created="2022-10-01T00:00:00.000Z",
        name=f"TLP:{level.value}",
        extensions={TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level.value.lower()}},
    )
    for level, marking_id in TLP_MARKING_IDS.items()
}


# ------------------------------------------------------------------------------ refusal


def exportable_level(number: int, tlp: Tlp | str, retracted: bool) -> Tlp:
    """The report's TLP if it may be exported; `ValueError` otherwise."""
    level = Tlp(tlp)
    if level not in EXPORTABLE or level not in TLP_MARKING_IDS:
        public_id = format_id("IN", number)
        raise ValueError(f"{public_id} is TLP:{level.value}; TLP:AMBER+STRICT and TLP:RED reports are never exported.")
    if retracted:
        raise ValueError(f"{format_id('IN', number)} was retracted; retracted reports are never exported.")
    return level


def _level(report: IntelReport) -> Tlp:
    return exportable_level(report.id, report.tlp, report.retracted_at is not None)


def _check(reports: Sequence[IntelReport]) -> list[Tlp]:
    return [_level(report) for report in reports]


def _utc(moment: datetime) -> datetime:
    """Aware UTC (the database hands back aware UTC; a naive value is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ----------------------------------------------------------------------------------- CSV


def _when(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_csv(reports: Sequence[IntelReport]) -> bytes:
    """The reports as CSV (UTF-8 with BOM), one row per indicator; see the module docstring."""
    levels = _check(reports)
    rows: list[tuple[object, ...]] = []
    for report, level in zip(reports, levels, strict=True):
        head = (
            format_id("IN", report.id),
            f"TLP:{level.value}",
            report.working_group.name,
            report.organisation.name,
            _when(report.created_at),
            report.title,
        )
        if not report.indicators:
            rows.append((*head, "", "", ""))
        rows.extend((*head, found.type, found.value, found.display) for found in report.indicators)
    return write_csv(CSV_HEADER, rows)


def export_network_csv(rows: Sequence[NetworkRow]) -> bytes:
    """A network's file: one row per report, columns `NETWORK_CSV_HEADER`; `linking_indicators`
    lists the report's values (`type: value`, normalised, `; `-separated) that it shares with
    another report in the file. The walk reaches no retracted report, so only the level is
    checked here."""
    levels = [exportable_level(row.id, row.tlp, retracted=False) for row in rows]
    return write_csv(
        NETWORK_CSV_HEADER,
        [
            (
                format_id("IN", row.id),
                f"TLP:{level.value}",
                row.group,
                _when(row.created_at),
                row.title,
                "; ".join(f"{kind}: {value}" for kind, value in row.linking),
            )
            for row, level in zip(rows, levels, strict=True)
        ],
    )


# ---------------------------------------------------------------------------------- STIX


def stix_string(value: str) -> str:
    """A STIX patterning string literal: single-quoted, with `\\` and `'` backslash-escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def stix_pattern(type_: str, value: str, display: str) -> tuple[str, str]:
    """`(pattern, pattern_type)` of an indicator; see the module docstring for the choice."""
    observable = STIX_PATTERNS.get(type_)
    if type_ == "listing":
        if display.lower().startswith(("http://", "https://")):
            return f"[url:value = {stix_string(display)}]", "stix"
    elif observable is not None:
        return f"[{observable}:value = {stix_string(value)}]", "stix"
    return f"{type_}:{value}", PATTERN_TYPE


def _stix_id(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, name)}"


def _identity(name: str) -> Any:
    return v21.Identity(
        id=_stix_id("identity", f"identity:{name}"),
        created=IDENTITY_CREATED,
        modified=IDENTITY_CREATED,
        name=name,
        identity_class="organization",
        object_marking_refs=[TLP_MARKING_IDS[Tlp.CLEAR]],
    )


def _times(report: IntelReport) -> tuple[datetime, datetime]:
    created = _utc(report.created_at)
    return created, max(created, _utc(report.updated_at))


def _indicator(report: IntelReport, found: IntelIndicator, marking: str, identity_id: str) -> Any:
    created, modified = _times(report)
    pattern, pattern_type = stix_pattern(found.type, found.value, found.display)
    return v21.Indicator(
        id=_stix_id("indicator", f"indicator:{format_id('IN', report.id)}:{found.type}:{found.value}"),
        created_by_ref=identity_id,
        created=created,
        modified=modified,
        name=f"{found.type}: {found.display or found.value}",
        description=f"Normalised {found.type} value: {found.value}",
        indicator_types=["malicious-activity"],
        pattern=pattern,
        pattern_type=pattern_type,
        valid_from=created,
        labels=[found.type],
        object_marking_refs=[marking],
    )


def _report(report: IntelReport, indicators: Sequence[Any], marking: str, identity_id: str) -> Any:
    created, modified = _times(report)
    public_id = format_id("IN", report.id)
    group = report.working_group
    extra: dict[str, Any] = {"description": report.body} if report.body else {}
    return v21.Report(
        id=_stix_id("report", f"report:{public_id}"),
        created_by_ref=identity_id,
        created=created,
        modified=modified,
        name=report.title or public_id,
        published=created,
        report_types=["threat-report"],
        object_refs=[*(indicator.id for indicator in indicators), identity_id],
        labels=[f"working-group:{group.slug}"],
        external_references=[
            {
                "source_name": "alliance-bot",
                "external_id": public_id,
                "description": f"Shared by {report.organisation.name} in the {group.name} working group.",
            }
        ],
        object_marking_refs=[marking],
        **extra,
    )


def export_stix(reports: Sequence[IntelReport], *, identity_name: str = DEFAULT_IDENTITY) -> bytes:
    """The reports as a STIX 2.1 bundle, UTF-8 JSON; see the module docstring for its layout."""
    levels = _check(reports)
    identity = _identity(identity_name)
    used = {Tlp.CLEAR}
    content: dict[str, Any] = {identity.id: identity}
    for report, level in zip(reports, levels, strict=True):
        used.add(level)
        marking = TLP_MARKING_IDS[level]
        indicators: dict[str, Any] = {}
        for found in report.indicators:
            indicator = _indicator(report, found, marking, identity.id)
            indicators.setdefault(indicator.id, indicator)
        stix_report = _report(report, list(indicators.values()), marking, identity.id)
        if stix_report.id in content:
            continue  # the same report twice: once is enough
        content[stix_report.id] = stix_report
        content.update(indicators)
    objects = [TLP_MARKINGS[level] for level in TLP_MARKING_IDS if level in used] + list(content.values())
    digest = "\n".join(f"{obj.id} {obj.get('modified', obj.get('created'))}" for obj in objects)
    bundle = v21.Bundle(objects=objects, id=_stix_id("bundle", f"bundle:{digest}"))
    text: str = bundle.serialize(pretty=True, ensure_ascii=False)
    return text.encode("utf-8")

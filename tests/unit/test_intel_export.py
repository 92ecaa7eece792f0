"""Intel exports: CSV and STIX 2.1 that consumers can read, TLP-marked, deterministic, and never AMBER+STRICT or RED."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import stix2
from stix2 import v21
from stix2patterns.v21.pattern import Pattern
from stix2validator import ValidationOptions, validate_string

from bot.services.indicators import INDICATOR_TYPES
from bot.services.intel_export import (
    CSV_HEADER,
    NAMESPACE,
    NETWORK_CSV_HEADER,
    PATTERN_TYPE,
    TLP_EXTENSION,
    export_csv,
    export_network_csv,
    export_stix,
    stix_pattern,
    stix_string,
)
from bot.services.networks import NetworkRow
from db.models import IntelIndicator, IntelReport, Organisation, Tlp, WorkingGroup

CREATED = datetime(2024, 5, 1, 8, 30, 15, 123000, tzinfo=UTC)
UPDATED = datetime(2024, 5, 3, 17, 0, tzinfo=UTC)

# One realistic (value, display) per indicator type, as bot.services.indicators normalises them.
SAMPLES: dict[str, tuple[str, str]] = {
    "listing": ("taobao:612345678901", "https://item.taobao.com/item.htm?id=612345678901"),
    "seller": ("taobao:shop123456", "https://shop123456.taobao.com/"),
    "domain": ("xn--fakeshes-r6a.com", "fakeshöes.com (xn--fakeshes-r6a.com)"),
    "email": ("sales@fake-shoes.com", "sales@fake-shoes.com"),
    "phone": ("+8613800138000", "+86 138 0013 8000"),
    "wechat": ("fakeshoes88", "fakeshoes88"),
    "qq": ("123456789", "123456789"),
    "alipay": ("pay@fake-shoes.com", "pay@fake-shoes.com"),
    "bank": ("DE89370400440532013000", "DE89 3704 0044 0532 0130 00"),
    "waybill": ("SF123456789012", "SF 1234 5678 9012"),
    "address": ("广东省深圳市龙华区民治街道123号", "广东省深圳市龙华区民治街道 123 号"),
    "company": ("深圳市假鞋贸易有限公司", "深圳市假鞋贸易有限公司"),
}
STIX_TYPED = {
    "listing": "[url:value = 'https://item.taobao.com/item.htm?id=612345678901']",
    "domain": "[domain-name:value = 'xn--fakeshes-r6a.com']",
    "email": "[email-addr:value = 'sales@fake-shoes.com']",
}
OFFICIAL_TLP = {  # the OASIS TLP 2.0 marking definitions, verbatim
    Tlp.CLEAR: ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"),
    Tlp.GREEN: ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"),
    Tlp.AMBER: ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"),
}
EXPORTS: list[Callable[[Sequence[IntelReport]], bytes]] = [export_csv, export_stix]


def _group() -> WorkingGroup:
    return WorkingGroup(id=3, slug="footwear", name="Footwear", created_at=CREATED)


def _organisation() -> Organisation:
    return Organisation(id=5, name="Acme Sports", name_key="acme sports", created_at=CREATED)


def _report(
    number: int = 42,
    tlp: Tlp = Tlp.AMBER,
    *,
    title: str = "Counterfeit trainers network",
    body: str = "Same phone and waybills across three shops.",
    indicators: dict[str, tuple[str, str]] | list[tuple[str, str, str]] | None = None,
) -> IntelReport:
    if indicators is None:
        indicators = SAMPLES
    rows = [(t, v, d) for t, (v, d) in indicators.items()] if isinstance(indicators, dict) else indicators
    return IntelReport(
        id=number,
        author_id=1001,
        organisation_id=5,
        working_group_id=3,
        tlp=tlp,
        title=title,
        body=body,
        created_at=CREATED,
        updated_at=UPDATED,
        retracted_at=None,
        organisation=_organisation(),
        working_group=_group(),
        indicators=[IntelIndicator(type=t, value=v, display=d) for t, v, d in rows],
    )


def _bundle(reports: Sequence[IntelReport], **kwargs: Any) -> Any:
    data = export_stix(reports, **kwargs)
    return stix2.parse(data.decode("utf-8"), allow_custom=True)


def _of_type(bundle: Any, kind: str) -> list[Any]:
    return [obj for obj in bundle.objects if obj.type == kind]


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _unquote(literal: str) -> str:
    """A STIX string literal's value, by the grammar's two escapes only (`\\'` and `\\\\`)."""
    assert literal.startswith("'") and literal.endswith("'")
    inner = literal[1:-1]
    assert re.fullmatch(r"(?:[^'\\]|\\['\\])*", inner, re.DOTALL), inner
    return re.sub(r"\\(['\\])", r"\1", inner)


# ------------------------------------------------------------------------------- samples


def test_samples_cover_every_indicator_type() -> None:
    assert set(SAMPLES) == set(INDICATOR_TYPES)


# ---------------------------------------------------------------------------------- STIX


@pytest.mark.parametrize("type_", INDICATOR_TYPES)
def test_every_indicator_type_has_a_pattern(type_: str) -> None:
    value, display = SAMPLES[type_]
    pattern, pattern_type = stix_pattern(type_, value, display)
    if type_ in STIX_TYPED:
        assert (pattern, pattern_type) == (STIX_TYPED[type_], "stix")
        Pattern(pattern)  # parses as STIX 2.1 patterning
    else:
        assert (pattern, pattern_type) == (f"{type_}:{value}", PATTERN_TYPE)


def test_a_listing_without_a_link_falls_back_to_the_alliance_pattern() -> None:
    assert stix_pattern("listing", "taobao:1", "taobao:1") == ("listing:taobao:1", PATTERN_TYPE)


def test_bundle_layout() -> None:
    report = _report()
    bundle = _bundle([report])
    assert bundle.type == "bundle"
    assert [obj.type for obj in bundle.objects] == [
        "marking-definition", "marking-definition", "identity", "report", *["indicator"] * len(INDICATOR_TYPES),
    ]  # fmt: skip

    (identity,) = _of_type(bundle, "identity")
    assert identity.name == "Anti-Counterfeiting Alliance"
    assert identity.identity_class == "organization"
    assert identity.id == f"identity--{uuid.uuid5(NAMESPACE, 'identity:Anti-Counterfeiting Alliance')}"

    (stix_report,) = _of_type(bundle, "report")
    indicators = _of_type(bundle, "indicator")
    assert stix_report.name == "Counterfeit trainers network"
    assert stix_report.description == "Same phone and waybills across three shops."
    assert stix_report.published == CREATED
    assert stix_report.created == CREATED
    assert stix_report.modified == UPDATED
    assert stix_report.report_types == ["threat-report"]
    assert stix_report.created_by_ref == identity.id
    assert stix_report.object_refs == [*(i.id for i in indicators), identity.id]
    assert stix_report.labels == ["working-group:footwear"]
    (reference,) = stix_report.external_references
    assert reference.source_name == "alliance-bot"
    assert reference.external_id == "IN-000042"
    assert "Acme Sports" in reference.description and "Footwear" in reference.description

    by_type = {i.labels[0]: i for i in indicators}
    assert set(by_type) == set(INDICATOR_TYPES)
    for type_, indicator in by_type.items():
        value, display = SAMPLES[type_]
        assert (indicator.pattern, indicator.pattern_type) == stix_pattern(type_, value, display)
        assert indicator.name == f"{type_}: {display}"
        assert value in indicator.description
        assert indicator.valid_from == CREATED
        assert (indicator.created, indicator.modified) == (CREATED, UPDATED)
        assert indicator.created_by_ref == identity.id
        assert indicator.indicator_types == ["malicious-activity"]
    assert {i.pattern_type for i in indicators} == {"stix", PATTERN_TYPE}


def test_no_custom_content_is_needed_to_read_the_bundle() -> None:
    data = export_stix([_report(1, Tlp.CLEAR), _report(2, Tlp.AMBER)]).decode("utf-8")
    strict = stix2.parse(data, allow_custom=False)
    assert [obj.id for obj in strict.objects] == [obj.id for obj in stix2.parse(data, allow_custom=True).objects]


def test_a_report_without_indicators_refers_to_the_identity() -> None:
    bundle = _bundle([_report(indicators={}, body="")])
    (stix_report,) = _of_type(bundle, "report")
    (identity,) = _of_type(bundle, "identity")
    assert stix_report.object_refs == [identity.id]
    assert "description" not in stix_report
    assert _of_type(bundle, "indicator") == []


def test_an_empty_export_is_a_valid_bundle() -> None:
    bundle = _bundle([])
    assert [obj.type for obj in bundle.objects] == ["marking-definition", "identity"]


@pytest.mark.parametrize("tlp", [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER])
def test_every_object_carries_its_tlp_marking(tlp: Tlp) -> None:
    marking_id, _ = OFFICIAL_TLP[tlp]
    clear_id, _ = OFFICIAL_TLP[Tlp.CLEAR]
    bundle = _bundle([_report(tlp=tlp)])
    definitions = {obj.id for obj in _of_type(bundle, "marking-definition")}
    assert definitions == {marking_id, clear_id}
    for obj in bundle.objects:
        if obj.type == "marking-definition":
            continue  # the official definitions carry no markings themselves
        assert obj.object_marking_refs, obj.id
        assert set(obj.object_marking_refs) <= definitions  # every marking used is in the bundle
        expected = [clear_id] if obj.type == "identity" else [marking_id]
        assert obj.object_marking_refs == expected, obj.id


def test_markings_follow_each_report_in_a_mixed_export() -> None:
    reports = [_report(1, Tlp.CLEAR), _report(2, Tlp.GREEN), _report(3, Tlp.AMBER)]
    bundle = _bundle(reports)
    assert [obj.id for obj in _of_type(bundle, "marking-definition")] == [m for m, _ in OFFICIAL_TLP.values()]
    index = {obj.id: obj for obj in bundle.objects}
    for stix_report, report in zip(_of_type(bundle, "report"), reports, strict=True):
        (marking,) = stix_report.object_marking_refs
        assert marking == OFFICIAL_TLP[report.tlp][0]
        indicators = [index[ref] for ref in stix_report.object_refs if ref.startswith("indicator--")]
        assert len(indicators) == len(INDICATOR_TYPES)
        assert all(i.object_marking_refs == [marking] for i in indicators)


def test_marking_definitions_are_the_official_tlp_2_0_objects() -> None:
    data = json.loads(export_stix([_report(1, Tlp.GREEN), _report(2, Tlp.AMBER)]))
    definitions = [obj for obj in data["objects"] if obj["type"] == "marking-definition"]
    expected = [
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": marking_id,
            "created": "2022-10-01T00:00:00.000Z",
            "name": f"TLP:{tlp.value}",
            "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": word}},
        }
        for tlp, (marking_id, word) in OFFICIAL_TLP.items()
    ]
    assert TLP_EXTENSION == "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
    assert definitions == expected


def test_the_stix_validator_accepts_the_bundle() -> None:
    reports = [_report(1, Tlp.CLEAR), _report(2, Tlp.GREEN), _report(3, Tlp.AMBER, indicators={})]
    result = validate_string(export_stix(reports).decode("utf-8"), ValidationOptions(version="2.1"))
    assert result.is_valid, [str(error) for error in result.errors]
    # What it warns about is by design: uuid5 (deterministic) ids, and the open-vocabulary pattern type.
    codes = {match.group(0) for warning in result.warnings if (match := re.search(r"\{\d+\}", warning))}
    assert codes == {"{103}", "{245}"}, result.warnings


def test_identity_name_is_configurable() -> None:
    bundle = _bundle([_report()], identity_name="Alliance Anti-Contrefaçon")
    (identity,) = _of_type(bundle, "identity")
    assert identity.name == "Alliance Anti-Contrefaçon"
    assert identity.id == f"identity--{uuid.uuid5(NAMESPACE, 'identity:Alliance Anti-Contrefaçon')}"
    assert all(obj.created_by_ref == identity.id for obj in bundle.objects if obj.type in ("report", "indicator"))


def test_output_is_utf8_json_with_text_as_written() -> None:
    data = export_stix([_report(title="仿冒运动鞋 network")])
    assert "仿冒运动鞋 network".encode() in data
    assert json.loads(data.decode("utf-8"))["type"] == "bundle"


# ----------------------------------------------------------------------------- quoting

TRICKY = [
    "o'neil",
    "back\\slash",
    "ends with a backslash\\",
    "\\'",
    "''",
    "a\\'b\\\\c'",
    "']  OR [file:name = 'x",
]


@pytest.mark.parametrize("value", TRICKY)
def test_stix_string_round_trips_through_the_pattern_grammar(value: str) -> None:
    pattern = f"[url:value = {stix_string(value)}]"
    comparisons = Pattern(pattern).inspect().comparisons
    assert list(comparisons) == ["url"]  # one comparison: nothing escaped out of the literal
    ((path, operator, literal),) = comparisons["url"]
    assert (path, operator) == (["value"], "=")
    assert _unquote(literal) == value


def test_stix_string_escapes() -> None:
    assert stix_string("o'neil") == r"'o\'neil'"
    assert stix_string("a\\b") == r"'a\\b'"
    assert stix_string("\\'") == r"'\\\''"


def test_quotes_and_backslashes_survive_the_whole_export() -> None:
    url = "https://shop.example.com/item?id=1&q=it's\\fake"
    report = _report(
        indicators=[
            ("email", "o'neil@fake-shoes.com", "o'neil@fake-shoes.com"),
            ("listing", "example:1", url),
            ("domain", "it's\\odd.example", "it's\\odd.example"),
            ("wechat", "it's\\x", "it's\\x"),
        ]
    )
    bundle = _bundle([report])  # the stix2 library validates every STIX pattern it builds and parses
    patterns = {i.labels[0]: i for i in _of_type(bundle, "indicator")}
    for type_, kind, expected in [
        ("email", "email-addr", "o'neil@fake-shoes.com"),
        ("listing", "url", url),
        ("domain", "domain-name", "it's\\odd.example"),
    ]:
        indicator = patterns[type_]
        assert indicator.pattern_type == "stix"
        ((path, _, literal),) = Pattern(indicator.pattern).inspect().comparisons[kind]
        assert path == ["value"]
        assert _unquote(literal) == expected
    assert patterns["wechat"].pattern == "wechat:it's\\x"  # not a STIX pattern: kept verbatim


# --------------------------------------------------------------------------- determinism


def test_re_exporting_gives_the_same_bytes() -> None:
    reports = [_report(1, Tlp.GREEN), _report(2, Tlp.AMBER, indicators={})]
    again = [_report(1, Tlp.GREEN), _report(2, Tlp.AMBER, indicators={})]  # fresh objects, same data
    assert export_stix(reports) == export_stix(reports) == export_stix(again)
    assert export_csv(reports) == export_csv(again)


def test_ids_are_uuid5_of_the_report_and_indicator() -> None:
    bundle = _bundle([_report(7)])
    (stix_report,) = _of_type(bundle, "report")
    assert stix_report.id == f"report--{uuid.uuid5(NAMESPACE, 'report:IN-000007')}"
    phone = next(i for i in _of_type(bundle, "indicator") if i.labels == ["phone"])
    assert phone.id == f"indicator--{uuid.uuid5(NAMESPACE, 'indicator:IN-000007:phone:+8613800138000')}"
    assert bundle.id.startswith("bundle--")


def test_an_edit_changes_modified_but_not_the_ids() -> None:
    before = _bundle([_report(7)])
    edited = _report(7, title="Renamed")
    edited.updated_at = datetime(2024, 6, 1, tzinfo=UTC)
    after = _bundle([edited])
    ids = [obj.id for obj in before.objects]
    assert [obj.id for obj in after.objects] == ids
    (report_after,) = _of_type(after, "report")
    assert report_after.modified == datetime(2024, 6, 1, tzinfo=UTC)
    assert after.id != before.id  # a different bundle


def test_the_same_indicator_in_two_reports_is_two_indicators() -> None:
    bundle = _bundle([_report(1, Tlp.GREEN), _report(2, Tlp.AMBER)])
    indicators = _of_type(bundle, "indicator")
    assert len({i.id for i in indicators}) == 2 * len(INDICATOR_TYPES)
    assert len({i.pattern for i in indicators}) == len(INDICATOR_TYPES)


def test_a_report_given_twice_is_exported_once() -> None:
    report = _report()
    bundle = _bundle([report, report])
    assert len(_of_type(bundle, "report")) == 1
    assert len(_of_type(bundle, "indicator")) == len(INDICATOR_TYPES)


def test_modified_is_never_before_created_and_naive_times_are_utc() -> None:
    report = _report()
    report.created_at = datetime(2024, 5, 1, 8, 30)  # naive: taken as UTC
    report.updated_at = datetime(2024, 4, 1, tzinfo=UTC)  # inconsistent: clamped to created
    (stix_report,) = _of_type(_bundle([report]), "report")
    assert stix_report.created == stix_report.modified == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


# ------------------------------------------------------------------------------ refusal


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("tlp", [Tlp.AMBER_STRICT, Tlp.RED])
def test_amber_strict_and_red_are_refused(export: Callable[[Sequence[IntelReport]], bytes], tlp: Tlp) -> None:
    with pytest.raises(ValueError, match=r"IN-000009 is TLP:(AMBER\+STRICT|RED)"):
        export([_report(9, tlp)])


@pytest.mark.parametrize("export", EXPORTS)
def test_one_unexportable_report_refuses_the_whole_export(export: Callable[[Sequence[IntelReport]], bytes]) -> None:
    with pytest.raises(ValueError, match="IN-000002"):
        export([_report(1, Tlp.CLEAR), _report(2, Tlp.RED), _report(3, Tlp.GREEN)])


@pytest.mark.parametrize("export", EXPORTS)
def test_a_plain_string_level_is_checked_too(export: Callable[[Sequence[IntelReport]], bytes]) -> None:
    report = _report(4)
    report.tlp = "AMBER+STRICT"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="IN-000004"):
        export([report])


@pytest.mark.parametrize("export", EXPORTS)
def test_retracted_reports_are_refused(export: Callable[[Sequence[IntelReport]], bytes]) -> None:
    report = _report(5, Tlp.CLEAR)
    report.retracted_at = UPDATED
    with pytest.raises(ValueError, match="IN-000005 was retracted"):
        export([report])


# ----------------------------------------------------------------------------------- CSV


def test_csv_has_one_row_per_indicator_and_one_for_a_report_without() -> None:
    reports = [_report(1, Tlp.CLEAR), _report(2, Tlp.AMBER, title="Nothing typed", indicators={})]
    rows = _csv_rows(export_csv(reports))
    assert tuple(rows[0]) == CSV_HEADER == (
        "id", "tlp", "group", "organisation", "created_at", "title",
        "indicator_type", "indicator_value", "indicator_display",
    )  # fmt: skip
    body = rows[1:]
    assert len(body) == len(INDICATOR_TYPES) + 1
    first = [row for row in body if row[0] == "IN-000001"]
    assert [row[6] for row in first] == list(SAMPLES)
    head = ["IN-000001", "TLP:CLEAR", "Footwear", "Acme Sports", "2024-05-01T08:30:15Z", "Counterfeit trainers network"]
    assert all(row[:6] == head for row in first)
    wechat = next(row for row in first if row[6] == "wechat")
    assert wechat[7:] == ["fakeshoes88", "fakeshoes88"]
    company = next(row for row in first if row[6] == "company")
    assert company[7] == "深圳市假鞋贸易有限公司"
    head = ["IN-000002", "TLP:AMBER", "Footwear", "Acme Sports", "2024-05-01T08:30:15Z", "Nothing typed"]
    assert body[-1] == [*head, "", "", ""]


def test_csv_neutralises_formulas() -> None:
    report = _report(title='=HYPERLINK("http://evil.example","open")', indicators={"phone": SAMPLES["phone"]})
    (row,) = _csv_rows(export_csv([report]))[1:]
    assert row[5] == '\'=HYPERLINK("http://evil.example","open")'
    assert row[7:] == ["'+8613800138000", "'+86 138 0013 8000"]  # a leading + is a formula too


def test_csv_of_nothing_is_the_header() -> None:
    assert _csv_rows(export_csv([])) == [list(CSV_HEADER)]


# --------------------------------------------------------------------------- network CSV


def _row(number: int, tlp: Tlp = Tlp.AMBER, title: str = "Counterfeit trainers network") -> NetworkRow:
    linking = (("phone", "+8613800138000"), ("wechat", "fakeshoes88"))
    return NetworkRow(number, tlp, "Footwear & Apparel", CREATED, title, linking)


def test_network_csv_has_one_row_per_report_with_its_linking_indicators() -> None:
    rows = _csv_rows(export_network_csv([_row(7, Tlp.CLEAR), replace(_row(8, title="Alone"), linking=())]))
    assert tuple(rows[0]) == NETWORK_CSV_HEADER == (
        "id", "tlp", "group", "created_at", "title", "linking_indicators",
    )  # fmt: skip
    assert rows[1:] == [
        [
            "IN-000007",
            "TLP:CLEAR",
            "Footwear & Apparel",
            "2024-05-01T08:30:15Z",
            "Counterfeit trainers network",
            "phone: +8613800138000; wechat: fakeshoes88",
        ],
        ["IN-000008", "TLP:AMBER", "Footwear & Apparel", "2024-05-01T08:30:15Z", "Alone", ""],
    ]


def test_network_csv_neutralises_formulas() -> None:
    (row,) = _csv_rows(export_network_csv([_row(1, title="@SUM(A1:A9)")]))[1:]
    assert row[4] == "'@SUM(A1:A9)"


@pytest.mark.parametrize("tlp", [Tlp.AMBER_STRICT, Tlp.RED])
def test_network_csv_refuses_amber_strict_and_red(tlp: Tlp) -> None:
    with pytest.raises(ValueError, match=r"IN-000003 is TLP:(AMBER\+STRICT|RED)"):
        export_network_csv([_row(2, Tlp.GREEN), _row(3, tlp)])


def test_v21_bundles_can_be_rebuilt_from_the_export() -> None:
    """What a consumer does: parse and re-wrap the objects; the stix2 library accepts them all."""
    bundle = _bundle([_report(1, Tlp.GREEN)])
    rebuilt = v21.Bundle(objects=list(bundle.objects), id=bundle.id, allow_custom=True)
    assert json.loads(rebuilt.serialize()) == json.loads(export_stix([_report(1, Tlp.GREEN)]))

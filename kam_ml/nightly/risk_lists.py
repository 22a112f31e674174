"""Per-manager risk lists: the explained scores ranked by revenue at risk, in words.

``risk_list_rows`` turns the explained scores into display rows (one per account, ranked
per manager); ``write_risk_lists`` writes each manager's list as CSV, Excel and HTML plus
an index page. Each reason shows the account's value next to the average of the low-,
medium- and high-risk accounts, so a manager sees *how* unusual the account is.

Given the accounts' last actions (``kam_ml.actions``, read by the nightly job), the CSV and
Excel lists carry two more columns, "Last action" and "Last action date" (UTC); the HTML
list always has a "Last action" cell per row (``last_action_html``), which the API's page
fills with the live action and a form to record the next one.
"""

from __future__ import annotations

import html
import json
import math
import multiprocessing as mp
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring as _json_string
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from markupsafe import Markup

from kam_ml.actions import RecordedAction, describe_action
from kam_ml.csv_cells import safe_cell
from kam_ml.data.contract import category_label
from kam_ml.features import FEATURES
from kam_ml.nightly.history import ScoreHistory
from kam_ml.nightly.slugs import manager_slugs
from kam_ml.nightly.snapshot import SnapshotFiles
from kam_ml.nightly.sparklines import sparklines
from kam_ml.reporting.html import render
from kam_ml.reporting.xlsx import Column, Sheet, style_of, xlsx_bytes

__all__ = [
    "ManagerSummary",
    "band_average_texts",
    "format_offers",
    "format_reason",
    "last_action_html",
    "manager_slugs",
    "manager_summaries",
    "offers_legend",
    "risk_list_rows",
    "write_risk_lists",
]

_XLSX_COLUMNS = (
    Column("Rank", 6, "int"),
    Column("Account", 12),
    Column("Region", 8),
    Column("Segment", 10),
    Column("Churn probability", 12, "percent"),
    Column("Risk band", 9),
    Column("Revenue at risk", 14, "money"),
    Column("Expected value 12m", 14, "money"),
    Column("Revenue last 12m", 14, "money"),
    Column("Change since last night", 12, "change"),
    Column("What changed", 40, "wrap"),
    Column("Reasons (account vs avg low / medium / high risk)", 80, "wrap"),
    Column("Offers", 40, "wrap"),
)
_ACTION_COLUMNS = (Column("Last action", 40, "wrap"), Column("Last action date", 12))
# the short text columns whose width follows their longest value, by column index
_SIZED_COLUMNS = {1: "account_id", 2: "region", 3: "segment", 5: "risk_band"}
# the CSV carries the structured reasons too, for the CRM (one JSON list a row)
DETAILS_HEADER = "Reason details (JSON)"
CSV_HEADER = [*(c.header for c in _XLSX_COLUMNS), DETAILS_HEADER]
ACTION_CSV_HEADER = [c.header for c in _ACTION_COLUMNS]
# every list and the index sit in one folder: one link to the portfolio serves them all
PORTFOLIO_LINK = SnapshotFiles.link(SnapshotFiles.RISK_LIST_INDEX, SnapshotFiles.PORTFOLIO_PAGE)
# the CSV's structured change, last, for a CRM ("Changes": JSON, CHANGE_FIELDS per entry)
CHANGE_CSV_HEADER = ["Compared with", "Previous risk band", "New on the list", "Changes"]
# accounts from which the writers fork: for smaller books a fork costs more than it saves
_PARALLEL_ROWS = 50_000


@dataclass(frozen=True)
class ManagerSummary:
    manager: str
    slug: str
    accounts: int
    high: int
    medium: int
    low: int
    revenue_at_risk: float


def format_reason(
    feature: str, text: str, value: float | None, averages: Mapping[str, str] | None
) -> str:
    """ "No order for 64 days (avg low 12 · medium 40 · high 95)"; ``averages`` is
    ``band_average_texts(means)``, computed once per night rather than once per reason."""
    if averages is None or value is None:
        return text
    shown = averages.get(feature)
    return f"{text} ({shown})" if shown else text


def band_average_texts(means: pd.DataFrame) -> dict[str, str]:
    """Per feature of ``means`` (index: feature), "avg low 12 · medium 40 · high 95"."""
    texts: dict[str, str] = {}
    for feature, row in means.iterrows():
        if feature not in FEATURES:
            continue
        fmt = FEATURES[str(feature)].fmt
        shown = " · ".join(f"{b} {_fmt(row.get(b), fmt)}" for b in ("low", "medium", "high"))
        texts[str(feature)] = f"avg {shown}"
    return texts


def format_offers(
    offers: Sequence[Any],
    scores: Sequence[Any],
    reasons: Sequence[Any],
    labels: Sequence[Any] = (),
) -> list[str]:
    """Per offer, "<label> (<score as %>): <reason>", for the Offers column; ``labels`` name
    the category codes of ``offers`` (the code made readable where a label is missing)."""
    out = []
    for i, offer in enumerate(offers):
        text = str(labels[i]) if i < len(labels) and labels[i] else category_label(str(offer))
        if i < len(scores) and scores[i] is not None:
            text += f" ({float(scores[i]):.0%})"
        if i < len(reasons) and reasons[i]:
            reason = reasons[i]
            text += ": " + (
                ", ".join(map(str, reason)) if isinstance(reason, list) else str(reason)
            )
        out.append(text)
    return out


def risk_list_rows(explained: pd.DataFrame, means: pd.DataFrame | None) -> pd.DataFrame:
    """Display rows, ranked by revenue at risk within each manager (ties: account id)."""
    frame = explained.sort_values(
        ["manager", "revenue_at_risk", "account_id"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)
    frame["rank"] = frame.groupby("manager", sort=False).cumcount() + 1
    averages = band_average_texts(means) if means is not None else None
    frame["reasons_shown"] = [
        [format_reason(f, t, v, averages) for f, t, v in zip(fs, ts, vs, strict=False)]
        for fs, ts, vs in zip(
            frame["reason_features"], frame["reason_texts"], frame["reason_values"], strict=True
        )
    ]
    # nights written before offer labels existed have no offer_labels column
    labels = frame["offer_labels"] if "offer_labels" in frame else pd.Series([()] * len(frame))
    frame["offers_shown"] = [
        format_offers(list(o), list(s), list(r), [] if n is None else list(n))
        for o, s, r, n in zip(
            frame["offers"], frame["offer_scores"], frame["offer_reasons"], labels, strict=True
        )
    ]
    return frame


def last_action_html(action: RecordedAction | None) -> str:
    """The escaped content of a row's "Last action" cell: what was done, then when (UTC
    date) and by whom; "–" when nothing was recorded."""
    if action is None:
        return "–"
    return (
        f"{_esc(describe_action(action))}<br><small>{action.recorded_at.date()}"
        f" · {_esc(action.recorded_by)}</small>"
    )


def manager_summaries(
    explained: pd.DataFrame, slugs: Mapping[str, str] | None = None
) -> list[ManagerSummary]:
    """Per manager, counts and revenue at risk; ``slugs`` are the stored ones
    (``kam_ml.nightly.managers``), derived from tonight's names alone when not given."""
    slugs = slugs if slugs is not None else manager_slugs(explained["manager"])
    grouped = explained.groupby("manager", sort=True)
    bands = pd.crosstab(explained["manager"], explained["risk_band"])
    risk = grouped["revenue_at_risk"].sum()
    return [
        ManagerSummary(
            manager=str(manager),
            slug=slugs[manager],
            accounts=int(count),
            high=int(bands.at[manager, "high"]) if "high" in bands else 0,
            medium=int(bands.at[manager, "medium"]) if "medium" in bands else 0,
            low=int(bands.at[manager, "low"]) if "low" in bands else 0,
            revenue_at_risk=float(risk[manager]),
        )
        for manager, count in grouped.size().items()
    ]


def write_risk_lists(
    explained: pd.DataFrame,
    means: pd.DataFrame | None,
    night: Path,
    as_of: str,
    workers: int = 2,
    actions: Mapping[str, RecordedAction] | None = None,
    offer_horizon_days: int | None = None,
    history: pd.DataFrame | None = None,
    slugs: Mapping[str, str] | None = None,
) -> list[ManagerSummary]:
    """``<slug>.csv``, ``<slug>.xlsx`` and ``<slug>.html`` per manager, and ``index.html``,
    under the night folder ``night`` where ``SnapshotFiles`` puts them.

    ``actions`` (the last action per account id, from the actions store) adds the last
    action and its date to every format; without it the CSV and Excel lists leave the two
    columns out and the HTML cells say "–".
    ``offer_horizon_days``: the offer model's horizon, which the page's legend names when
    it explains the offer percentages (None: no offers model, no legend).
    ``history`` (``kam_ml.nightly.history``): each row's probability on the last nights,
    drawn as a sparkline next to what changed (without it, tonight's dot alone).
    ``slugs``: each manager's stored slug (see ``manager_summaries``).

    A million accounts means ~20,000 managers and 60,000 files: rows are rendered with one
    f-string per row and format (no per-cell objects), and big books are split across
    ``workers`` forked processes by manager.
    """
    (night / SnapshotFiles.RISK_LISTS).mkdir(parents=True, exist_ok=True)
    summaries = manager_summaries(explained, slugs)
    rows = risk_list_rows(explained, means)
    ids = rows["account_id"].to_numpy(dtype=object)
    series = (
        ScoreHistory.from_frame(history, bands=False).aligned(ids)
        if history is not None
        else rows[["churn_probability"]].to_numpy(dtype=float)
    )
    rows["sparkline"] = sparklines(series)
    managers = rows["manager"].to_numpy()
    starts = np.flatnonzero(np.r_[True, managers[1:] != managers[:-1]])
    bounds = list(zip(starts.tolist(), np.r_[starts[1:], len(rows)].tolist(), strict=True))
    by_manager = {s.manager: s for s in summaries}
    jobs = [(by_manager[managers[lo]], lo, hi) for lo, hi in bounds]
    legend = offers_legend(offer_horizon_days)
    lengths = {i: rows[c].astype(str).str.len().to_numpy() for i, c in _SIZED_COLUMNS.items()}

    def write(part: list[tuple[ManagerSummary, int, int]]) -> None:
        if not part:
            return
        lo, hi = part[0][1], part[-1][2]
        xml, html_rows, csv_lines = _render(rows.iloc[lo:hi], actions)
        for summary, start, end in part:
            widths = [
                int(lengths[i][start:end].max()) if i in lengths and end > start else None
                for i in range(len(_XLSX_COLUMNS) + len(_ACTION_COLUMNS))
            ]
            _write_manager(
                night,
                summary,
                as_of,
                (xml, html_rows, csv_lines),
                start - lo,
                end - lo,
                actions is not None,
                legend,
                widths,
            )

    _in_processes(write, jobs, workers if len(rows) >= _PARALLEL_ROWS else 1)
    (night / SnapshotFiles.RISK_LIST_INDEX).write_text(
        render(
            "risk_index.html",
            managers=summaries,
            as_of=as_of,
            link_suffix=".html",
            portfolio_href=PORTFOLIO_LINK,
        ),
        encoding="utf-8",
    )
    return summaries


def _render(
    rows: pd.DataFrame, actions: Mapping[str, RecordedAction] | None = None
) -> tuple[list[str], list[str], list[str]]:
    """Per row: its Excel ``<row>`` XML, its HTML ``<tr>`` and its CSV line.

    Written out column by column on purpose: at ~800,000 rows, per-cell helper calls and
    generic type dispatch cost more than everything else in the nightly job.
    """
    columns = [
        rows["rank"].to_numpy(dtype=np.int64).tolist(),
        [_esc(v) for v in rows["account_id"].astype(str)],
        _escaped_labels(rows["region"]),
        _escaped_labels(rows["segment"]),
        _floats(rows["churn_probability"]),
        _escaped_labels(rows["risk_band"]),
        _floats(rows["revenue_at_risk"]),
        _floats(rows["expected_value_12m"]),
        _floats(rows["revenue_365d"]),
        _floats(rows["probability_change"]),
        _texts(rows, "what_changed"),
        rows["reasons_shown"].tolist(),
        rows["offers_shown"].tolist(),
    ]
    change_csv, row_flags = _change_cells(rows)
    sparks = _texts(rows, "sparkline")
    s = [style_of(c.fmt) for c in _XLSX_COLUMNS]
    text_style = style_of("text")
    last = [None] * len(rows) if not actions else [actions.get(a) for a in rows["account_id"]]
    details = (
        [_details_json(d) for d in rows["reason_details"]]
        if "reason_details" in rows
        else ["[]"] * len(rows)
    )
    # the CSV carries the plain text (the other columns are escaped for HTML and XML)
    plain = zip(*(rows[c].astype(str) for c in ("account_id", "region", "segment")), strict=True)
    csv_text = [",".join(_q(v) for v in values) for values in plain]
    xml_rows, html_rows, csv_lines = [], [], []
    for (
        rank,
        account,
        region,
        segment,
        p,
        band,
        rar,
        ev,
        rev,
        change,
        moved,
        reasons,
        offers,
        action,
        detail,
        change_line,
        flags,
        spark,
        account_region_segment_csv,
    ) in zip(*columns, last, details, change_csv, row_flags, sparks, csv_text, strict=True):
        r = rank + 1
        moved_x, reasons_x, offers_x = (
            _esc(moved),
            _esc("\n".join(reasons)),  # one a line in the wrapped Excel cell, as on the page
            _esc("\n".join(offers)),
        )
        action_day = "" if action is None else str(action.recorded_at.date())
        action_text = "" if action is None else describe_action(action)
        action_xml = action_csv = ""
        if actions is not None:
            action_xml = (
                f"{_xt('N', r, text_style, _esc(action_text))}{_xt('O', r, text_style, action_day)}"
            )
            action_csv = f",{_q(action_text)},{_q(action_day)}"
        xml_rows.append(
            f'<row r="{r}"><c r="A{r}" s="{s[0]}"><v>{rank}</v></c>'
            f"{_xt('B', r, s[1], account)}{_xt('C', r, s[2], region)}{_xt('D', r, s[3], segment)}"
            f"{_xn('E', r, s[4], p)}{_xt('F', r, s[5], band)}{_xn('G', r, s[6], rar)}"
            f"{_xn('H', r, s[7], ev)}{_xn('I', r, s[8], rev)}{_xn('J', r, s[9], change)}"
            f"{_xt('K', r, s[10], moved_x)}{_xt('L', r, s[11], reasons_x)}"
            f"{_xt('M', r, s[12], offers_x)}{action_xml}</row>"
        )
        csv_lines.append(
            f'{rank},{account_region_segment_csv},{_c(p)},"{band}",{_c(rar)},{_c(ev)},'
            f"{_c(rev)},{_c(change)},{_q(moved)},{_q(' | '.join(reasons))},{_q(' | '.join(offers))}"
            f",{_q(detail)}{action_csv},{change_line}"
        )
        html_rows.append(
            f'<tr class="band-{band}" data-account="{account}" data-band="{band}"{flags}>'
            f'<td class="num" data-value="{rank}">{rank}</td>'
            f'<td data-value="{account}">{account}</td>'
            f'<td data-value="{segment}">{segment} · {region}</td>'
            f'<td class="num" data-value="{_c(p)}">{_pct(p)}</td>'
            f'<td data-value="{band}">{band}</td>'
            f'<td class="num" data-value="{_c(rar)}">{_money(rar)}</td>'
            f'<td class="num" data-value="{_c(ev)}">{_money(ev)}</td>'
            f'<td class="num what-changed" data-value="{_c(change)}">{spark}'
            f"{f'<br><small>{moved_x}</small>' if moved else f' {_pts(change)}'}</td>"
            f'<td data-value="{len(reasons)}"><ul>'
            f"{''.join(f'<li>{_esc(t)}</li>' for t in reasons)}</ul></td>"
            f'<td data-value="{_esc(" ".join(offers))}"><ul>'
            f"{''.join(f'<li>{_esc(t)}</li>' for t in offers)}</ul></td>"
            f'<td class="last-action" id="action-{account}" data-value="{action_day}">'
            f"{last_action_html(action)}</td></tr>"
        )
    return xml_rows, html_rows, csv_lines


def _details_json(details: Iterable[Mapping[str, Any]] | None) -> str:
    """A row's ``reason_details`` as compact JSON: ``[{"feature": ..., "value": ...,
    "direction": ..., "peer_low_risk": ..., "peer_high_risk": ..., "contribution": ...,
    "text": ...}]``, missing numbers as null. Spelled out rather than ``json.dumps``, which
    costs twice as much a row (a million rows a night)."""
    if details is None:
        return "[]"
    return (
        "["
        + ",".join(
            f'{{"feature":{_js(d["feature"])},"value":{_jn(d["value"])},'
            f'"direction":{_js(d["direction"])},"peer_low_risk":{_jn(d["peer_low_risk"])},'
            f'"peer_high_risk":{_jn(d["peer_high_risk"])},'
            f'"contribution":{_jn(d["contribution"])},"text":{_js(d["text"])}}}'
            for d in details
        )
        + "]"
    )


def _jn(value: Any) -> str:
    """A JSON number; null for missing, NaN or infinite values (JSON has none of them)."""
    if value is None:
        return "null"
    number = float(value)
    return repr(number) if math.isfinite(number) else "null"


def _js(text: Any) -> str:
    return "null" if text is None else _json_string(str(text))


def _texts(rows: pd.DataFrame, name: str) -> list[str]:
    """A text column as strings ("" where missing, or for a night written before it)."""
    if name not in rows:
        return [""] * len(rows)
    return ["" if v is None or v != v else str(v) for v in rows[name].tolist()]


def _change_cells(rows: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Per row, the CSV's structured change (``CHANGE_CSV_HEADER``, quoted) and the HTML
    row's filter attributes (``data-new``, ``data-band-changed``).

    The JSON is written with f-strings (``json.dumps`` only for the texts): at ~800,000 rows
    a general encoder per row costs seconds."""
    n = len(rows)
    compared = _texts(rows, "compared_with")
    before = _texts(rows, "previous_risk_band")
    new = rows["new_on_list"].to_numpy(dtype=bool) if "new_on_list" in rows else np.zeros(n, bool)
    bands = rows["risk_band"].astype(str).to_numpy(dtype=object)
    moved = np.asarray([b != "" and b != a for a, b in zip(bands, before, strict=True)])
    entries = rows["changes"].tolist() if "changes" in rows else [None] * n
    csv, flags = [], []
    for day, was, is_new, changes in zip(compared, before, new.tolist(), entries, strict=True):
        changes_json = "[" + ",".join(_change_json(c) for c in _as_entries(changes)) + "]"
        new_text = ("yes" if is_new else "no") if day else ""
        csv.append(f"{_q(day)},{_q(was)},{_q(new_text)},{_q(changes_json)}")
    for is_new, changed in zip(new.tolist(), moved.tolist(), strict=True):
        flags.append(f' data-new="{int(is_new)}" data-band-changed="{int(changed)}"')
    return csv, flags


def _as_entries(changes: Any) -> list[Mapping[str, Any]]:
    return [] if changes is None else list(changes)


def _change_json(entry: Mapping[str, Any]) -> str:
    return (
        f'{{"feature":{json.dumps(str(entry["feature"]))},'
        f'"previous_value":{_jn(entry.get("previous_value"))},'
        f'"value":{_jn(entry.get("value"))},'
        f'"contribution_change":{_jn(entry.get("contribution_change"))},'
        f'"text":{json.dumps(str(entry["text"]), ensure_ascii=False)}}}'
    )


def _esc(text: str) -> str:
    """Escape for XML and HTML text and attribute values (``html.escape`` without the
    per-call overhead when nothing needs escaping, which is nearly always)."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return html.escape(text)
    return text


def _escaped_labels(column: pd.Series) -> list[str]:
    labels = column.astype(str)
    mapping = {label: _esc(label) for label in labels.unique()}
    return [mapping[label] for label in labels]


def _xt(col: str, r: int, style: int, escaped: str) -> str:
    return (
        f'<c r="{col}{r}" s="{style}" t="inlineStr">'
        f'<is><t xml:space="preserve">{escaped}</t></is></c>'
    )


def _xn(col: str, r: int, style: int, value: float | None) -> str:
    if value is None:
        return f'<c r="{col}{r}" s="{style}"/>'
    return f'<c r="{col}{r}" s="{style}"><v>{value!r}</v></c>'


def _c(value: float | None) -> str:
    return "" if value is None else repr(value)


def _q(text: str) -> str:
    """A quoted CSV text cell, neutralised so that no spreadsheet reads it as a formula."""
    return '"' + safe_cell(text).replace('"', '""') + '"'


def offers_legend(horizon_days: int | None) -> str | None:
    """The page's line that says what an offer's percentage means (None without offers)."""
    if horizon_days is None:
        return None
    return (
        "Offers: the percentage is the chance the account buys this category in the next "
        f"{horizon_days} days."
    )


def _write_manager(
    night: Path,
    summary: ManagerSummary,
    as_of: str,
    rendered: tuple[list[str], list[str], list[str]],
    start: int,
    end: int,
    with_actions: bool,
    offers_legend: str | None = None,
    content_widths: Sequence[int | None] | None = None,
) -> None:
    xml_rows, html_rows, csv_lines = rendered
    headers = (CSV_HEADER + ACTION_CSV_HEADER if with_actions else CSV_HEADER) + CHANGE_CSV_HEADER
    header = ",".join(_q(h) for h in headers)
    lines = [header, *csv_lines[start:end]]
    csv_path = night / SnapshotFiles.risk_list(summary.slug, ".csv")
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    columns = _XLSX_COLUMNS + _ACTION_COLUMNS if with_actions else _XLSX_COLUMNS
    sheet = Sheet(
        "Risk list",
        columns,
        [()] * (end - start),
        color_scale_column=4,
        rendered_rows="".join(xml_rows[start:end]),
        content_widths=None if content_widths is None else content_widths[: len(columns)],
    )
    (night / SnapshotFiles.risk_list(summary.slug, ".xlsx")).write_bytes(xlsx_bytes([sheet]))
    page = render(
        "risk_list.html",
        summary=summary,
        rows_html=Markup("\n".join(html_rows[start:end])),
        as_of=as_of,
        offers_legend=offers_legend,
        portfolio_href=PORTFOLIO_LINK,
    )
    (night / SnapshotFiles.risk_list(summary.slug, ".html")).write_text(page, encoding="utf-8")


def _in_processes(task: Callable[[list[Any]], None], jobs: list[Any], workers: int) -> None:
    """Run ``task`` on ``workers`` contiguous slices of ``jobs``, in forked children when
    more than one (they inherit the rendered frame; nothing is pickled)."""
    if workers <= 1 or len(jobs) < 2 or "fork" not in mp.get_all_start_methods():
        task(jobs)
        return
    size = -(-len(jobs) // workers)
    context = mp.get_context("fork")
    children = [
        context.Process(target=task, args=(jobs[i : i + size],)) for i in range(0, len(jobs), size)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
    failed = [c.exitcode for c in children if c.exitcode != 0]
    if failed:
        raise RuntimeError(f"Writing risk lists failed in a worker process (exit {failed[0]}).")


def _floats(column: pd.Series) -> list[float | None]:
    values = column.to_numpy(dtype=float).round(6)
    # numpy's stubs read where(cond, None, x) as the one-argument overload (a tuple)
    shown = cast("np.ndarray[Any, Any]", np.where(np.isnan(values), None, values))
    return list(shown.tolist())


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _pts(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pts"


def _fmt(value: float | None, fmt: str) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return format(float(value), fmt)

"""Request and response bodies; every field is described for the OpenAPI docs at /docs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic.config import JsonDict

from kam_ml.actions import (
    CATEGORY_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MANAGER_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    ActionKind,
)

__all__ = [
    "AccountIn",
    "BandChange",
    "BandChanges",
    "ManagerList",
    "ManagerSummaryOut",
    "RiskList",
    "ActionHistory",
    "ActionIn",
    "ActionOut",
    "AccountScore",
    "BandAverages",
    "Change",
    "ErrorResponse",
    "FieldProblem",
    "HistoryRequest",
    "InteractionIn",
    "MovedBy",
    "NightScore",
    "Offer",
    "OrderIn",
    "Readiness",
    "Reason",
    "ReasonDetail",
    "ScoreHistory",
    "ScoresRequest",
    "ScoresResponse",
]

# Posted dates stay well inside pandas' timestamp range (1677-09-22 to 2262-04-11), so a
# date a calendar allows cannot overflow the feature arithmetic further down.
EARLIEST_DATE, LATEST_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


def _within_range(value: dt.date) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


Day = Annotated[dt.date, AfterValidator(_within_range)]
Moment = Annotated[dt.datetime, AfterValidator(_within_range)]

AccountId = Field(min_length=1, max_length=200, description="The CRM's account id.")


class FieldProblem(BaseModel):
    """One field of a request that breaks a rule (from the request's validation)."""

    field: str = Field(description='Where, dotted: "account_ids", "orders.1.order_date".')
    rule: str = Field(description='The rule broken, e.g. "too_long", "date_from_datetime_parsing".')
    message: str = Field(description="The rule in words.")


class ErrorResponse(BaseModel):
    """The body of every answer that is not 2xx: 400, 401, 404, 413, 422, 429 and 503."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"detail": "unknown account: A000042", "errors": None},
                {
                    "detail": "account_ids: List should have at most 1000 items after "
                    "validation, not 1001",
                    "errors": [
                        {
                            "field": "account_ids",
                            "rule": "too_long",
                            "message": "List should have at most 1000 items after "
                            "validation, not 1001",
                        }
                    ],
                },
            ]
        }
    )

    detail: str = Field(
        description="What went wrong, in words; stable strings clients may match on "
        '("missing API key", "unknown account: <id>", a data-contract rule with its rows).'
    )
    errors: list[FieldProblem] | None = Field(
        default=None,
        description="On a 422 from the request's validation: every field that breaks a rule "
        "(null for other errors).",
    )


class ScoresRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_ids: list[str] = Field(
        min_length=1,
        max_length=1000,
        description="Accounts to look up in the latest nightly snapshot (1 to 1,000).",
        examples=[["A000001", "A000003", "A002096"]],
    )


class BandAverages(BaseModel):
    low: float | None = Field(description="Average of this feature among low-risk accounts.")
    medium: float | None = Field(description="Average among medium-risk accounts.")
    high: float | None = Field(description="Average among high-risk accounts.")


class Reason(BaseModel):
    feature: str = Field(description="Model feature behind the reason, e.g. overdue_ratio.")
    text: str = Field(description="The reason in words, with the account's value.")
    value: float | None = Field(description="The account's value of the feature.")
    average_by_band: BandAverages | None = Field(
        description="The feature's average among low/medium/high-risk accounts tonight."
    )


class ReasonDetail(BaseModel):
    """One reason as data, for a CRM that renders its own words."""

    feature: str = Field(description="Model feature behind the reason, e.g. days_since_last_order.")
    value: float | None = Field(
        description="The account's value (null: missing, e.g. no overdue ratio after one order)."
    )
    direction: Literal["high", "low"] = Field(
        description="high: the value is above the low-risk accounts' average; low: below. "
        "Always the risky side: a reason is shown only there."
    )
    peer_low_risk: float | None = Field(
        description="The feature's average among tonight's low-risk accounts."
    )
    peer_high_risk: float | None = Field(
        description="The feature's average among tonight's high-risk accounts."
    )
    contribution: float | None = Field(
        description="The feature's contribution to the churn log-odds (> 0: raises risk); "
        "null for nights written before reason details."
    )
    text: str = Field(description="The reason in words, as the risk list shows it.")


class Change(BaseModel):
    """One feature that moved the account's risk since the night compared with."""

    feature: str = Field(description="The model feature whose value changed, e.g. orders_90d.")
    previous_value: float | None = Field(
        description="Its value on the night compared with (null: missing then)."
    )
    value: float | None = Field(description="Its value tonight (null: missing now).")
    contribution_change: float = Field(
        description="Tonight's contribution to the churn log-odds minus that night's "
        "(> 0: pushed risk up)."
    )
    text: str = Field(description='In words, e.g. "No order for 95 days (was 40)".')


class MovedBy(BaseModel):
    """One thing that moved the score since the night compared with, as data and words."""

    feature: str | None = Field(
        description="The model feature, e.g. days_since_last_order (null for nights written "
        "before changes were stored, which kept the words only)."
    )
    text: str = Field(description='In words, e.g. "No order for 95 days (was 40)".')
    contribution_change: float | None = Field(
        description="Change of its contribution to the churn log-odds (> 0: pushed risk up; "
        "null for older nights)."
    )


class Offer(BaseModel):
    category: str = Field(description="Product category offered: the catalogue code.")
    label: str | None = Field(
        default=None,
        description="The category's name for people: the catalogue's label, else the code "
        "made readable (ready_to_wear -> Ready to wear).",
    )
    score: float | None = Field(
        description="Chance the account buys this category within the offer model's horizon "
        "(90 days by default), when offers rank by relevance."
    )
    reason: str | None = Field(
        description="Why the category is offered, in words (null: no reason stored)."
    )


class AccountScore(BaseModel):
    account_id: str = Field(description="The account.")
    churn_probability: float = Field(
        ge=0, le=1, description="Calibrated probability of no order within the churn horizon."
    )
    risk_band: Literal["low", "medium", "high"] = Field(
        description="high >= 0.5 churn probability, medium >= 0.25, low below."
    )
    reasons: list[Reason] = Field(
        description="Up to 3 features that push this account's risk up and whose value is on "
        "the risky side of the low-risk accounts' average, strongest first."
    )
    reason_details: list[ReasonDetail] = Field(
        default_factory=list,
        description="The same reasons, structured: value, direction, peers, contribution.",
    )
    offers: list[Offer] = Field(
        description="Next-best offers, best first (empty without an offer model)."
    )
    expected_value_12m: float | None = Field(
        description="Expected revenue over the next 12 months (null without a value model)."
    )
    revenue_at_risk: float | None = Field(
        description="Revenue at risk: from the value model when present, else churn "
        "probability x revenue of the last 12 months."
    )
    manager: str | None = Field(description="Key account manager owning the account.")
    previous_probability: float | None = Field(
        description="Churn probability in the previous nightly run (null if new)."
    )
    moved_by: list[MovedBy] = Field(
        description="What moved the score since the night compared with: ``changes`` as "
        "feature, words and contribution change."
    )
    previous_risk_band: Literal["low", "medium", "high"] | None = Field(
        default=None, description="Risk band on the night compared with (null if new)."
    )
    new_on_list: bool = Field(
        default=False,
        description="Not scored on the night compared with (false when there is none).",
    )
    compared_with: dt.date | None = Field(
        default=None, description="As-of date of the night compared with (null: none)."
    )
    what_changed: str | None = Field(
        default=None,
        description='In words: "Since 2026-10-24: risk +12 pts (medium → high) — no order '
        'for 95 days (was 40); ..." (null without a night to compare with).',
    )
    changes: list[Change] = Field(
        default_factory=list,
        description="Up to 2 features whose value changed and whose contribution moved most "
        "(in the direction the risk moved); context features are never named.",
    )
    model_versions: dict[str, str | None] = Field(
        description="Registry versions of the churn, offers and value models used."
    )
    features_as_of: dt.date = Field(description="As-of date of the features scored (day T).")
    source: Literal["nightly", "history"] = Field(
        description="nightly: precomputed by the nightly run; "
        "history: scored from the posted history."
    )


class NightScore(BaseModel):
    as_of: dt.date = Field(description="The night's as-of date.")
    churn_probability: float = Field(ge=0, le=1, description="The account's probability then.")
    risk_band: Literal["low", "medium", "high"] | None = Field(description="Its band then.")


class ScoreHistory(BaseModel):
    account_id: str = Field(description="The account.")
    nights: list[NightScore] = Field(
        description="Its score on each of the last nights it was scored (up to 12), oldest "
        "first; the last is the night served."
    )


class ScoresResponse(BaseModel):
    scores: list[AccountScore] = Field(description="One entry per known account, in request order.")
    unknown_account_ids: list[str] = Field(
        description="Requested ids not in the snapshot (not active at its as-of date, or unknown)."
    )
    features_as_of: dt.date = Field(description="As-of date of the snapshot served.")


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    account_id: str = AccountId
    signup_date: Day = Field(description="When the relationship started.")
    manager: str | None = Field(default=None, description="Owner; empty means unassigned.")
    region: str = Field(description="e.g. EMEA, AMER, APAC.")
    segment: str | None = Field(default=None, description="e.g. platinum, gold, silver.")


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    order_id: str = Field(min_length=1, description="Several lines may share one order.")
    order_date: Moment = Field(description="Timestamp of the order (naive UTC).")
    category: str = Field(min_length=1, description="Product category.")
    product_id: str | None = Field(default=None, description="Optional product id.")
    # the contract rules (> 0, >= 0) are checked by the contract's validation, whose 422
    # names the table, column, rule and rows as for a file
    quantity: int = Field(description="Units; contract rule: > 0.")
    amount: float = Field(allow_inf_nan=False, description="Net line revenue; contract rule: >= 0.")
    returned: bool | None = Field(default=None, description="Line was returned (default false).")
    return_date: Moment | None = Field(default=None, description="When the return was registered.")


class InteractionIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_date: Moment = Field(description="Timestamp of the event.")
    event_type: str = Field(min_length=1, description="complaint, ticket or nps.")
    value: float | None = Field(
        default=None, allow_inf_nan=False, description="nps: 0-10 score; ticket: hours."
    )


# A new account as a CRM would post it: a few order lines (two share order SO-1002), one of
# them returned, a complaint, a ticket and an NPS answer. It follows the data contract, so
# "Try it out" in /docs answers 200 (tests/serving/test_contract.py posts it).
HISTORY_EXAMPLE: JsonDict = {
    "account": {
        "account_id": "A900123",
        "signup_date": "2025-11-03",
        "manager": "Ava Martinez",
        "region": "EMEA",
        "segment": "gold",
    },
    "orders": [
        {
            "order_id": "SO-1001",
            "order_date": "2026-03-14T10:21:00",
            "category": "handbags",
            "product_id": "HB-014",
            "quantity": 1,
            "amount": 3150.0,
        },
        {
            "order_id": "SO-1002",
            "order_date": "2026-06-05T14:12:00",
            "category": "shoes",
            "product_id": "SH-203",
            "quantity": 2,
            "amount": 1880.0,
            "returned": True,
            "return_date": "2026-06-19T09:00:00",
        },
        {
            "order_id": "SO-1002",
            "order_date": "2026-06-05T14:12:00",
            "category": "fragrance",
            "product_id": "FR-007",
            "quantity": 3,
            "amount": 690.0,
        },
        {
            "order_id": "SO-1003",
            "order_date": "2026-09-22T16:40:00",
            "category": "fine_jewelry",
            "product_id": "FJ-031",
            "quantity": 1,
            "amount": 6400.0,
        },
    ],
    "interactions": [
        {"event_date": "2026-06-20T11:00:00", "event_type": "complaint"},
        {"event_date": "2026-06-21T08:30:00", "event_type": "ticket", "value": 18.0},
        {"event_date": "2026-09-30T12:00:00", "event_type": "nps", "value": 8.0},
    ],
}


class HistoryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [HISTORY_EXAMPLE]})

    account: AccountIn = Field(description="The account row (data contract: accounts).")
    orders: list[OrderIn] = Field(
        min_length=1, max_length=50_000, description="The account's order lines (contract: orders)."
    )
    interactions: list[InteractionIn] = Field(
        default_factory=list,
        max_length=50_000,
        description="Service events (contract: interactions).",
    )
    as_of: Day | None = Field(
        default=None,
        description="Feature as-of date T; default: the nightly snapshot's date. With an offer "
        "model only the snapshot's date is accepted (offers use that night's statistics).",
    )


class Readiness(BaseModel):
    status: Literal["ready", "not ready"] = Field(
        description="ready: models and a nightly snapshot are loaded."
    )
    snapshot_as_of: dt.date | None = Field(description="As-of date of the snapshot served.")
    snapshot_accounts: int | None = Field(description="Accounts in the snapshot.")
    snapshot_directory: str | None = Field(description="Folder of the night served.")
    snapshot_published_as_of: dt.date | None = Field(
        default=None,
        description="The night published last (what OUT/latest.json names); the night served "
        "unless snapshot_problems says why not.",
    )
    snapshot_problems: list[str] = Field(
        default_factory=list,
        description="Why the night served is not the night published last (a newer night "
        "that failed to load, say); the older night keeps serving meanwhile.",
    )
    model_versions: dict[str, str | None] = Field(description="Loaded model versions.")
    models_trained_as_of: dict[str, str | None] = Field(
        description="As-of date of the data each loaded model was trained on."
    )
    model_problems: list[str] = Field(
        description="Optional models (offers, value) not loaded, each with its cause; the "
        "service is ready without them and leaves their fields empty. Also a model served "
        "from its exported bundle because its MLflow artifacts failed verification, and a "
        "new champion that failed to load while the previous models keep serving."
    )
    problems: list[str] = Field(description="Why the service is not ready, if it is not.")


class ActionIn(BaseModel):
    """What a manager did about an account (POST /v1/accounts/{account_id}/actions)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "action": "offered",
                    "category": "handbags",
                    "note": "Interested in the new season; call back in two weeks.",
                    "manager": "Ava Martinez",
                }
            ]
        },
    )

    action: ActionKind = Field(description="called, met, offered (a category), won_back or lost.")
    category: str | None = Field(
        default=None,
        min_length=1,
        max_length=CATEGORY_MAX_LENGTH,
        validate_default=True,
        description="The category offered: required for 'offered', and one of the "
        "catalogue's categories; optional otherwise.",
    )
    note: str | None = Field(
        default=None, max_length=NOTE_MAX_LENGTH, description="Free text, up to 2,000 characters."
    )
    manager: str | None = Field(
        default=None,
        min_length=1,
        max_length=MANAGER_MAX_LENGTH,
        description="Who acted; stored as recorded_by (default: the API key's fingerprint).",
    )
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="The client's key for this action (e.g. a UUID, or the CRM's activity "
        "id), as the Idempotency-Key header may carry it instead: a retry with the same key "
        "and the same action stores nothing and answers 200 with the action stored first.",
    )

    @field_validator("category")
    @classmethod
    def _offer_names_its_category(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("action") is ActionKind.offered:
            raise ValueError("an 'offered' action needs the category offered")
        return value


class ActionOut(BaseModel):
    id: int = Field(description="The action's id (grows with every action recorded).")
    account_id: str = Field(description="The account acted on.")
    action: ActionKind = Field(description="called, met, offered, won_back or lost.")
    category: str | None = Field(description="The category offered, if any.")
    note: str | None = Field(description="The manager's note, as written.")
    manager: str | None = Field(description="The manager named in the request, if any.")
    recorded_by: str = Field(
        description="The manager named, else the fingerprint of the API key used."
    )
    recorded_at: dt.datetime = Field(description="When it was recorded (UTC).")
    idempotency_key: str | None = Field(description="The client's key, if it sent one.")


class ActionHistory(BaseModel):
    account_id: str = Field(description="The account.")
    actions: list[ActionOut] = Field(description="Every action recorded for it, newest first.")


Band = Literal["low", "medium", "high"]


class ManagerSummaryOut(BaseModel):
    manager: str = Field(description="The key account manager's name.")
    slug: str = Field(description="Their stable id in URLs (never moves from night to night).")
    accounts: int = Field(description="Accounts they own tonight.")
    high: int = Field(description="Of which high risk.")
    medium: int = Field(description="Of which medium risk.")
    low: int = Field(description="Of which low risk.")
    revenue_at_risk: float = Field(description="Sum of their accounts' revenue at risk.")


class ManagerList(BaseModel):
    as_of: dt.date = Field(description="As-of date of the night served.")
    managers: list[ManagerSummaryOut] = Field(description="Every manager, by name.")


class RiskList(BaseModel):
    as_of: dt.date = Field(description="As-of date of the night served.")
    manager: str = Field(description="The manager's name.")
    slug: str = Field(description="The manager's slug.")
    total: int = Field(description="Accounts on the whole list (before limit and offset).")
    accounts: list[AccountScore] = Field(
        description="The list's accounts, highest revenue at risk first (as the HTML list)."
    )


class BandChange(BaseModel):
    account_id: str = Field(description="The account.")
    manager: str | None = Field(description="Its key account manager.")
    previous_risk_band: Band = Field(description="Its band on the night compared with.")
    risk_band: Band = Field(description="Its band tonight.")
    previous_probability: float | None = Field(description="Churn probability then.")
    churn_probability: float = Field(description="Churn probability tonight.")
    compared_with: dt.date | None = Field(description="As-of date of the night compared with.")
    what_changed: str | None = Field(description="What moved it, in words.")


class BandChanges(BaseModel):
    as_of: dt.date = Field(description="As-of date of the night served.")
    total: int = Field(description="Accounts whose band changed (with the band filter).")
    changes: list[BandChange] = Field(
        description="Accounts whose band changed since the night compared with, highest "
        "churn probability first."
    )

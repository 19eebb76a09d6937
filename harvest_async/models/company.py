"""The company record (https://help.getharvest.com/api-v2/company-api/company/company/)."""

from __future__ import annotations

import attrs

__all__ = ["Company"]


@attrs.frozen(kw_only=True)
class Company:
    """The company (account) of the authenticated user and its settings."""

    base_uri: str | None = None
    full_domain: str | None = None
    name: str | None = None
    is_active: bool | None = None
    week_start_day: str | None = None
    wants_timestamp_timers: bool | None = None
    time_format: str | None = None
    date_format: str | None = None
    plan_type: str | None = None
    clock: str | None = None
    currency: str | None = None
    currency_code_display: str | None = None
    currency_symbol_display: str | None = None
    decimal_symbol: str | None = None
    thousands_separator: str | None = None
    color_scheme: str | None = None
    weekly_capacity: int | None = None
    expense_feature: bool | None = None
    invoice_feature: bool | None = None
    estimate_feature: bool | None = None
    approval_feature: bool | None = None
    team_feature: bool | None = None

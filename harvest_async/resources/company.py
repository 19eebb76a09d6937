"""The company of the account (https://help.getharvest.com/api-v2/company-api/company/company/)."""

from __future__ import annotations

from ..models.company import Company
from ._base import NOT_GIVEN, NotGiven, Resource, Seconds, operation

__all__ = ["CompanyResource"]


class CompanyResource(Resource):
    """``harvest.company``: get and update (Harvest has no list, create or delete)."""

    @operation("GET", "/company")
    async def get(self) -> Company:
        """Retrieve the company of the authenticated user's account."""
        return await self._get(Company, "company")

    @operation("PATCH", "/company")
    async def update(
        self,
        *,
        wants_timestamp_timers: bool | NotGiven = NOT_GIVEN,
        weekly_capacity: Seconds | NotGiven = NOT_GIVEN,
    ) -> Company:
        """Change company settings (only the given fields are sent).

        Args:
            wants_timestamp_timers: Track time by start and end time (``True``) or by
                duration (``False``).
            weekly_capacity: Weekly capacity in seconds.
        """
        fields = self._body()
        return await self._update(Company, "company", fields)

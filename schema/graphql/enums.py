"""GraphQL enums, generated from the schema's own enums so they cannot drift."""

from __future__ import annotations

import graphene

from schema.indicators.catalogue import Dimension as DimensionEnum
from schema.indicators.catalogue import OffenceScope as OffenceScopeEnum
from schema.periods import Granularity as GranularityEnum

Granularity = graphene.Enum.from_enum(
    GranularityEnum,
    description="MONTH (2024-05), QUARTER (financial: 2024/25 Q1 is April-June 2024), "
    "FINANCIAL_YEAR (2024/25), ROLLING_YEAR (YE 2024-06: the twelve months to June 2024).",
)
OffenceScope = graphene.Enum.from_enum(
    OffenceScopeEnum,
    description="Which offence codes count: ALL_RASSO (every sexual offence code), ALL_RAPE "
    "(19C-19H), ADULT_RAPE (19C, 19F), CHILD_RAPE (19D, 19E, 19G, 19H), OTHER_SEXUAL.",
)
Dimension = graphene.Enum.from_enum(
    DimensionEnum,
    description="One breakdown of the figures; a missing value is its own 'unknown' bucket.",
)


class GroupBy(graphene.Enum):
    """Totals to serve beside the forces, under the same disclosure control."""

    NATIONAL = "NATIONAL"
    REGION = "REGION"
    COUNTRY = "COUNTRY"
    GROUP = "GROUP"

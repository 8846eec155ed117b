"""Badge data model; one module per area, all re-exported here."""
from badges.models.accounts import AccredibleAPIConfig, CredlyOrganization
from badges.models.awards import AccredibleBadge, BadgeState, CredlyBadge, ProviderBadge
from badges.models.inbox import CredlyWebhookEvent, CredlyWebhookRejection, ReceivedEvent
from badges.models.openbadges import (
    OpenBadge,
    OpenBadgeAchievement,
    OpenBadgeCredential,
    OpenBadgeIssuer,
    OpenBadgeSigningKey,
    OpenBadgeStatusList,
)
from badges.models.progress import BadgeProgress, Fulfillment
from badges.models.templates import (
    AccredibleGroup,
    BadgePenalty,
    BadgeRequirement,
    BadgeTemplate,
    CredlyBadgeTemplate,
    DataRule,
    Origin,
    PenaltyDataRule,
    RulebookChange,
    RulebookVersion,
)

__all__ = [
    "AccredibleAPIConfig",
    "AccredibleBadge",
    "AccredibleGroup",
    "BadgePenalty",
    "BadgeProgress",
    "BadgeRequirement",
    "BadgeState",
    "BadgeTemplate",
    "CredlyBadge",
    "CredlyBadgeTemplate",
    "CredlyOrganization",
    "CredlyWebhookEvent",
    "CredlyWebhookRejection",
    "DataRule",
    "Fulfillment",
    "OpenBadge",
    "OpenBadgeAchievement",
    "OpenBadgeCredential",
    "OpenBadgeIssuer",
    "OpenBadgeSigningKey",
    "OpenBadgeStatusList",
    "Origin",
    "PenaltyDataRule",
    "ProviderBadge",
    "ReceivedEvent",
    "RulebookChange",
    "RulebookVersion",
]

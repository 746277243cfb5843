"""Accounts, user profiles and the badges a profile has earned."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field

from mystira_data.domain.base import (
    Document,
    MystiraModel,
    NonBlankStr,
    UtcDateTime,
    new_id,
    utc_now,
)
from mystira_data.domain.enums import DEFAULT_AGE_GROUP, AgeGroup, FantasyTheme, SubscriptionType

# C# defaults a subscription's end to DateTime.MaxValue ("never ends").
FOREVER = datetime.max.replace(tzinfo=UTC)


class SubscriptionDetails(MystiraModel):
    """An account's subscription or purchases, verified against the app store."""

    id: str = Field(default_factory=new_id)
    type: SubscriptionType = SubscriptionType.FREE
    product_id: str = ""
    valid_until: UtcDateTime | None = None  # None: lifetime or free
    is_active: bool = True
    purchase_token: str | None = None
    last_verified: UtcDateTime | None = None
    purchased_scenarios: list[str] = Field(default_factory=list)
    tier: str = "Free"
    start_date: UtcDateTime | None = Field(default_factory=utc_now)
    end_date: UtcDateTime | None = FOREVER

    def is_subscription_active(self, now: datetime) -> bool:
        """Active and not past ``valid_until`` at ``now``."""
        return self.is_active and (self.valid_until is None or self.valid_until >= now)


class AccountSettings(MystiraModel):
    """Per-account app preferences."""

    id: str = Field(default_factory=new_id)
    cache_credentials: bool = True
    require_auth_on_startup: bool = False
    preferred_language: str = "en"
    notifications_enabled: bool = True
    theme: str | None = "Light"


class Account(Document):
    """A signed-in adult's account; owns user profiles and game sessions."""

    external_user_id: str = ""  # identity provider subject
    email: str = ""
    display_name: str = ""
    role: str = "Guest"
    user_profile_ids: list[str] = Field(default_factory=list)
    completed_scenario_ids: list[str] = Field(default_factory=list)
    subscription: SubscriptionDetails = Field(default_factory=SubscriptionDetails)
    settings: AccountSettings = Field(default_factory=AccountSettings)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    last_login_at: UtcDateTime = Field(default_factory=utc_now)


class UserBadge(Document):
    """A badge a profile earned, with the badge's name and message as they were then.

    Embedded in ``UserProfile.earned_badges`` in the document store.
    """

    user_profile_id: NonBlankStr
    badge_configuration_id: str = ""
    badge_id: str | None = None  # the newer Badge entity, when known
    badge_name: str = ""
    badge_message: str = ""
    axis: str = ""
    trigger_value: float = 0.0
    threshold: float = 0.0
    earned_at: UtcDateTime = Field(default_factory=utc_now)
    game_session_id: str | None = None
    scenario_id: str | None = None
    image_id: str = ""


class UserProfile(Document):
    """A player: a child, guest or NPC profile under an account."""

    name: str = ""
    preferred_fantasy_themes: list[FantasyTheme] = Field(default_factory=list)
    date_of_birth: UtcDateTime | None = None
    is_guest: bool = False
    is_npc: bool = False
    age_group: AgeGroup = DEFAULT_AGE_GROUP
    avatar_media_id: str | None = None
    selected_avatar_media_id: str | None = None
    earned_badges: list[UserBadge] = Field(default_factory=list)
    has_completed_onboarding: bool = False
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)
    account_id: str | None = None
    pronouns: str | None = None
    bio: str | None = None

    def has_earned_badge(self, badge_configuration_id: str) -> bool:
        """Whether a badge of that configuration is already among the earned badges."""
        return any(b.badge_configuration_id == badge_configuration_id for b in self.earned_badges)

"""The routers, one per resource, collected in one place."""

from api.routers import (
    admin,
    api_keys,
    campaign_activity,
    campaigns,
    credits,
    deliverability_settings,
    health,
    lead_groups,
    messaging_settings,
    sandbox,
    sender_accounts,
    suppressions,
    templates,
    tracking,
    twilio_webhooks,
    unsubscribe,
)

ALL = [
    health.router,
    campaigns.router,
    campaign_activity.router,
    lead_groups.router,
    sender_accounts.router,
    credits.router,
    api_keys.router,
    suppressions.router,
    templates.router,
    unsubscribe.router,
    tracking.router,
    messaging_settings.router,
    deliverability_settings.router,
    twilio_webhooks.router,
]
__all__ = ["ALL", "admin", "sandbox"]

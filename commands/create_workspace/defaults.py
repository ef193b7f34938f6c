"""The starter knowledge base a new workspace gets: a small, realistic SaaS help centre."""

from __future__ import annotations

from typing import Any

DEFAULT_KNOWLEDGE: list[dict[str, Any]] = [
    {
        "id": "reset-password",
        "title": "Reset your password",
        "keywords": ["password", "reset", "forgot", "login", "sign in", "locked"],
        "text": 'To reset your password, open the sign-in page and click "Forgot password". Enter your account '
        "email and we send a reset link that is valid for 1 hour. If the email does not arrive within a "
        "few minutes, check your spam folder or ask your workspace admin to resend an invite.",
    },
    {
        "id": "two-factor",
        "title": "Two-factor authentication",
        "keywords": ["2fa", "two-factor", "authenticator", "mfa", "code", "otp"],
        "text": "You can turn on two-factor authentication under Settings > Security. Scan the QR code with an "
        "authenticator app and keep the backup codes somewhere safe. Lost your device? Use a backup code, "
        "or ask an admin of your workspace to reset 2FA for you.",
    },
    {
        "id": "change-plan",
        "title": "Change or upgrade your plan",
        "keywords": ["plan", "upgrade", "downgrade", "pricing", "seats", "subscription"],
        "text": "Admins can change plan under Settings > Billing > Plan. Upgrades take effect immediately and are "
        "prorated; downgrades take effect at the end of the current billing period.",
    },
    {
        "id": "invoices",
        "title": "Invoices and receipts",
        "keywords": ["invoice", "receipt", "vat", "billing", "charge", "payment", "card"],
        "text": "Invoices are emailed to the billing contact and are available under Settings > Billing > "
        "Invoices as PDF. To add a VAT number or change the billing address, edit the billing profile; "
        "new invoices use the updated details.",
    },
    {
        "id": "refund-policy",
        "title": "Refund policy",
        "keywords": ["refund", "money back", "cancel", "charged twice", "chargeback"],
        "text": "Annual plans can be refunded pro rata within 30 days of purchase. Monthly plans are not refunded "
        "but you can cancel at any time and keep access until the end of the period. Refund requests are "
        "handled by our billing team.",
    },
    {
        "id": "cancel",
        "title": "Cancel your subscription",
        "keywords": ["cancel", "cancellation", "close account", "delete account", "stop subscription"],
        "text": "Admins can cancel under Settings > Billing > Cancel subscription. Your data stays available "
        "until the end of the paid period, then the workspace becomes read-only for 30 days before it is "
        "deleted.",
    },
    {
        "id": "api-keys",
        "title": "Create an API key",
        "keywords": ["api", "key", "token", "integration", "developer", "rest"],
        "text": "Create API keys under Settings > Developers > API keys. A key is shown once: copy it into your "
        "secret manager. Keys can be scoped read-only and revoked at any time. The API is rate limited to "
        "100 requests per second per workspace.",
    },
    {
        "id": "webhooks",
        "title": "Webhooks",
        "keywords": ["webhook", "callback", "events", "signature", "hmac"],
        "text": "Add a webhook endpoint under Settings > Developers > Webhooks. Each delivery is signed with "
        "HMAC-SHA256 in the webhook-signature header; verify it with your endpoint secret. Failed "
        "deliveries are retried with backoff for 24 hours.",
    },
    {
        "id": "invite-teammates",
        "title": "Invite teammates",
        "keywords": ["invite", "teammate", "team", "member", "user", "seat", "role"],
        "text": "Admins invite teammates under Settings > Team > Invite. Pick a role: Admin, Agent or Viewer. The "
        "invitation link is valid for 7 days.",
    },
    {
        "id": "import-data",
        "title": "Import your data",
        "keywords": ["import", "csv", "migrate", "onboarding", "upload", "getting started"],
        "text": "To import data, go to Settings > Import and upload a CSV file (UTF-8, first row as headers, up to "
        "50 MB). The importer previews the first rows and lets you map columns before anything is saved.",
    },
    {
        "id": "export-data",
        "title": "Export your data",
        "keywords": ["export", "download", "backup", "gdpr", "data"],
        "text": "Admins can export all workspace data as CSV or JSON under Settings > Data > Export. Large exports "
        "are prepared in the background and emailed as a download link valid for 24 hours.",
    },
    {
        "id": "status",
        "title": "Service status and outages",
        "keywords": ["down", "outage", "status", "slow", "error", "not working", "500"],
        "text": "Current service status and incident history are on our status page. If something looks broken "
        "but the status page is green, tell us what you were doing and the time it happened, and we will "
        "investigate.",
    },
]

DEFAULT_EXAMPLES: list[dict[str, str]] = [
    {
        "user": "how do i get an invoice for last month",
        "assistant": "You'll find every invoice as a PDF under Settings > Billing > Invoices. They're also emailed "
        "to your billing contact. Anything else I can help with?",
    },
]

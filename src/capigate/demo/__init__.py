"""``capigate demo``: a simulated month of a real funnel through the gateway, in one process.

A population of users (``people``) goes through seed 000's funnel (``journey``): landing page,
"Open in Telegram", ``/start`` with the landing page's link token, onboarding, a first expense,
a subscription, cancellations, reactivations and plan changes, and daily activity that the
lifecycle engine turns into AppLaunch and retention events. ``scenario`` adds the bad days: an
outage at Meta, a throttling window, an event Meta refuses for good and a late replay that
can only expire. Everything above is pure and seeded, so a seed gives the same month.

``runner`` plays the month on one ``FrozenClock`` shared by the gateway (sandbox mode, its
emulator mounted), the delivery worker and the senders (``stage``), and ``report`` turns the
store and the emulator's record into the final table, checking that every accepted event was
delivered, dead-lettered with a reason or expired with a reason.
"""

from __future__ import annotations

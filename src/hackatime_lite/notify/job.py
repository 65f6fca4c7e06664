"""The scheduled job that mails the weekly report: to every opted-in user with an e-mail address, once the
user's week is over in their time zone, one mail per user and ISO week however often it runs (the week is
claimed in the store before sending, and released again when sending fails)."""

from __future__ import annotations

import logging
from typing import Any

from hackatime_lite import reports
from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.notify.mail import Mailer, MailError, compose, mail_enabled
from hackatime_lite.notify.weekly import last_complete_week, week_name, weekly_report

log = logging.getLogger(__name__)
# The job looks every hour; a user's mail goes out in the first run after their Sunday ends.
CHECK_INTERVAL = 3600.0


def job_interval(settings: Settings) -> float:
    """Hourly while mail is configured; off (0) without an SMTP server."""
    return CHECK_INTERVAL if mail_enabled(settings) else 0.0


def send_weekly_reports(ctx: AppContext) -> dict[str, Any] | None:
    if not mail_enabled(ctx.settings):
        return None
    stopping = ctx.scheduler.stopping if ctx.scheduler is not None else None
    counts = {"sent": 0, "already_sent": 0, "no_coding": 0, "no_address": 0, "failed": 0}
    with Mailer(ctx.settings) as mailer:
        for user_id in ctx.store.weekly_report_subscribers():
            if stopping is not None and stopping.is_set():
                break
            user = ctx.store.get_user(user_id)
            if user is None or not user.email:
                counts["no_address"] += 1
                continue
            monday = last_complete_week(reports.today_for(ctx, user.timezone))
            week = week_name(monday)
            if week in ctx.store.weekly_reports_sent(user.id):
                counts["already_sent"] += 1
                continue
            report = weekly_report(ctx, user, monday)
            if report.total_seconds <= 0 and report.previous_total_seconds <= 0:
                counts["no_coding"] += 1  # nothing to tell; a later run finds the week still unclaimed
                continue
            if not ctx.store.claim_weekly_report(user.id, week, ctx.clock()):
                counts["already_sent"] += 1  # another run got there first
                continue
            try:
                mailer.send(compose(ctx.settings, user, report))
            except MailError as exc:
                ctx.store.release_weekly_report(user.id, week)
                counts["failed"] += 1
                # Once per run: the server is likely down for everyone, so the rest waits for the next run.
                log.warning("weekly report e-mail not sent: %s", exc)
                break
            except BaseException:
                ctx.store.release_weekly_report(user.id, week)
                raise
            counts["sent"] += 1
    return counts if counts["sent"] or counts["failed"] else None

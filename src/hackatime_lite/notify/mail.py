"""The weekly report as an e-mail (HTML from a Jinja template plus a plain-text part) and sending it over
SMTP with the `smtp_*` settings. The SMTP password is used for the login only and never logged."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from types import TracebackType

import jinja2

from hackatime_lite.config import Settings
from hackatime_lite.models import User
from hackatime_lite.notify import unsubscribe
from hackatime_lite.notify.weekly import WeeklyReport
from hackatime_lite.text import formatting

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 30.0
_TEMPLATES = Path(__file__).resolve().parent / "templates"


class MailError(RuntimeError):
    """Mail could not be sent (no server configured, connection, login or refusal); safe to show."""


def mail_enabled(settings: Settings) -> bool:
    return bool(settings.smtp_host.strip() and settings.smtp_from.strip())


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["duration"] = formatting.human_text
    return env


_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)


def subject(report: WeeklyReport) -> str:
    return f"Your coding week {report.week}: {report.total_text}"


def compose(settings: Settings, user: User, report: WeeklyReport) -> EmailMessage:
    """The e-mail for one user's report, addressed to their e-mail address."""
    if not user.email:
        raise MailError(f"user {user.username} has no e-mail address")
    link = unsubscribe.unsubscribe_url(settings, user)
    context = {"report": report, "user": user, "unsubscribe_url": link,
               "dashboard_url": unsubscribe.base_url(settings) + "/"}
    message = EmailMessage()
    message["Subject"] = subject(report)
    message["From"] = settings.smtp_from
    message["To"] = user.email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    # RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click" to the link.
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_TEXT.get_template("weekly_report.txt").render(context))
    message.add_alternative(_HTML.get_template("weekly_report.html").render(context), subtype="html")
    return message


class Mailer:
    """One SMTP connection for a batch of messages, opened on the first send."""

    def __init__(self, settings: Settings) -> None:
        if not mail_enabled(settings):
            raise MailError("mail is not configured (set smtp_host and smtp_from)")
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if s.smtp_port == 465:  # implicit TLS ("SMTPS")
                smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT, context=context)
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT)
                if s.smtp_starttls:
                    smtp.starttls(context=context)
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except (OSError, smtplib.SMTPException) as exc:
            # The exception text names the server's answer, never our password.
            raise MailError(f"cannot send mail through {s.smtp_host}:{s.smtp_port}: {exc}") from exc
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()  # a broken connection is not reused; the next send reconnects
            raise MailError(f"the mail server refused the message to {message['To']}: {exc}") from exc

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

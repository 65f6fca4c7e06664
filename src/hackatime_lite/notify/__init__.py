"""Messages to users outside the dashboard: the weekly report (`weekly`: the typed report the CLI prints and
the e-mail shows), its e-mail (`mail`: composing and sending over SMTP), the signed unsubscribe links
(`unsubscribe`) and the scheduled job that mails it to the users who opted in (`job`). Transport-free."""

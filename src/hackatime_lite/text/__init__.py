"""Pure text tables and parsers: user agents, languages by extension, time formatting, date bounds."""

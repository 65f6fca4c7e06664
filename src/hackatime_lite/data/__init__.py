"""Data in and out of an instance: importers, exporters and online backups."""

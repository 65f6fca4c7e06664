"""Importers: WakaTime data dumps, our own exports (JSON/CSV), and pulls from WakaTime-compatible servers.

Every importer feeds ingest's one normalisation (`ingest.Normaliser`) and dedup hash, marks rows
source='import' (rows of our own exports marked 'test', `doctor`'s probes, stay 'test'), and never relays
them to mirrors (a mirror backfill does that on request).
"""

from hackatime_lite.data.importers.common import ImportFailed, ImportProgress, ImportStats
from hackatime_lite.data.importers.files import FORMATS, detect_format, import_file
from hackatime_lite.data.importers.server import pull_from_server

__all__ = ["FORMATS", "ImportFailed", "ImportProgress", "ImportStats", "detect_format", "import_file",
           "pull_from_server"]

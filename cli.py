"""PyInstaller entry point: the frozen executable starts here."""

from hackatime_lite.cli import main

if __name__ == "__main__":
    main()

from hackatime_lite.cli import main

main()

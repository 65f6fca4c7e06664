from hackatime_lite.cli.fast import main

main()

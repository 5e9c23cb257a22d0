"""``python -m starter``: run the watcher until SIGINT/SIGTERM."""

from starter.main import main

if __name__ == "__main__":
    main()

"""``python -m worker``: run the PushSecret worker until SIGINT/SIGTERM."""

from worker.main import main

if __name__ == "__main__":
    main()

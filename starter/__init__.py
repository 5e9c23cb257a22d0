"""The CR watcher: turns Kubernetes changes into signals to PushSecret workflows."""

"""The worker process: runs PushSecretWorkflow and its activities."""

"""Generators: the in-process equivalents of ESO's Password, UUID, Fake and SSHKey generators.

A generator turns a spec (the ``spec`` of a ``generators.external-secrets.io/v1alpha1`` object)
into a plain ``dict[str, bytes]`` that PushSecret then pushes like the data of a Secret.
:func:`generate` (in :mod:`pushsecret.generators.registry`) is the entry point: it dispatches
by ESO kind name and wraps errors the way ESO's PushSecret controller does.

Generated values are secrets: nothing here logs them or puts them in an exception message.
Every generator draws fresh randomness on every call, so they must run in activities, never in
workflow code.
"""

from __future__ import annotations

__all__ = [
    "GeneratorError",
    "generate",
    "generate_fake",
    "generate_password",
    "generate_ssh_key",
    "generate_uuid",
]


class GeneratorError(Exception):
    """A generator failed. ``message`` is ESO's text and is safe for status, events and logs.

    ``terminal`` is True for errors ESO marks ``reconcile.TerminalError`` (the resource itself
    is wrong, retrying cannot help, e.g. a ClusterGenerator without the spec for its kind).
    """

    def __init__(self, message: str, *, terminal: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.terminal = terminal


# The submodules import GeneratorError from this package, so they are imported after it exists.
from pushsecret.generators.password import generate_password  # noqa: E402
from pushsecret.generators.registry import generate  # noqa: E402
from pushsecret.generators.simple import generate_fake, generate_uuid  # noqa: E402
from pushsecret.generators.sshkey import generate_ssh_key  # noqa: E402

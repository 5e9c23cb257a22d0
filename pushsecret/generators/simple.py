"""ESO's parameterless and static generators: UUID and Fake.

* UUID (``generators/v1/uuid``) returns ``{"uuid": uuid.New().String()}``: a random
  (version 4) UUID in the lower-case, 36-character canonical form. ESO's type comment says
  "version 1" and its docs show upper case; the code wins.
* Fake (``generators/v1/fake``) returns ``spec.data`` verbatim, each value as UTF-8 bytes
  (an empty map when ``data`` is unset). It exists for tests.

Neither keeps state, so neither needs a cleanup.
"""

from __future__ import annotations

import uuid

from pushsecret.api.generators import FakeSpec

__all__ = ["UUID_KEY", "generate_fake", "generate_uuid"]

UUID_KEY = "uuid"
"""The UUID generator's only output key."""


def generate_uuid() -> dict[str, bytes]:
    """Return ``{"uuid": <random version-4 UUID>}``, lower case, 36 characters.

    ``uuid.uuid4`` reads the OS CSPRNG (``os.urandom``), as Go's ``uuid.New`` reads
    ``crypto/rand``. ESO's wrap ``unable to generate UUID: ...`` has no failure to wrap here.
    """
    return {UUID_KEY: str(uuid.uuid4()).encode("ascii")}


def generate_fake(spec: FakeSpec) -> dict[str, bytes]:
    """Return ``spec.data`` with each value encoded as UTF-8 (Go's ``[]byte(string)``)."""
    return {key: value.encode("utf-8") for key, value in spec.data.items()}

"""The function map of ESO's template engine v2: sprig (minus ``env``, ``expandenv`` and
``getHostByName``) plus ESO's own functions. Go's builtins (``index``, ``printf``, ...) are
added by :class:`~pushsecret.templating.exec.Template` itself."""

from __future__ import annotations

from pushsecret.templating.builtins import GoFunc
from pushsecret.templating.funcs_eso import ESO_FUNCS
from pushsecret.templating.funcs_sprig import SPRIG_FUNCS

# ESO copies sprig's map over its own, so sprig would win a clash (there is none).
FUNCS: dict[str, GoFunc] = {**ESO_FUNCS, **SPRIG_FUNCS}

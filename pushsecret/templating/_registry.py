"""A function map under construction: each entry records its Go signature.

Used by the ``funcs_*`` modules so that every function declares the Go parameter types the
engine checks arguments against (see :class:`pushsecret.templating.exec.GoFunc`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pushsecret.templating.builtins import GoFunc

F = TypeVar("F", bound=Callable[..., Any])


class Registry(dict[str, GoFunc]):
    """A ``name -> GoFunc`` map with helpers to register functions with their signatures."""

    def add(
        self, names: str, fn: Callable[..., Any], *params: str, variadic: str | None = None
    ) -> None:
        """Register ``fn`` under each space-separated name in ``names``."""
        for name in names.split():
            self[name] = GoFunc(fn, params, variadic)

    def func(self, names: str, *params: str, variadic: str | None = None) -> Callable[[F], F]:
        """Decorator form of :meth:`add`."""

        def register(fn: F) -> F:
            self.add(names, fn, *params, variadic=variadic)
            return fn

        return register

    def unsupported(self, names: str, *params: str, variadic: str | None = None) -> None:
        """Register functions ESO has but this engine does not: they fail when called.

        Registering them (instead of leaving them out) keeps the template parsing, so the
        error names the function at the place it is used.
        """
        for name in names.split():

            def fail(*_: Any, _name: str = name) -> Any:
                from pushsecret.templating._errors import FuncError

                raise FuncError(f"{_name} is not supported by pushsecret-temporal")

            self[name] = GoFunc(fail, params, variadic)

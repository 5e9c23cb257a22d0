"""Secret store providers, one module per store, all behind :class:`~.base.Provider`."""

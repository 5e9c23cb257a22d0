"""The Temporal data converter every worker and client of pushsecret uses.

Pydantic models on the wire, and failures whose message and stack trace are encoded as
payloads (so that, once a payload codec is configured, they are encrypted with the rest;
Temporal otherwise stores failure messages in plaintext).
"""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes


def data_converter() -> DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )

"""Provider tests that use ``contract_checked`` check every exchange against the vendored
OpenAPI description, also those of the ``AsyncOpenAI`` client a provider builds for its writes
(``clients.OBSERVERS``). Not the Azure tests: their paths are Azure's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from contract.validator import ContractRecorder

from assistops.providers import clients


@pytest.fixture
def contract_checked(contract: ContractRecorder) -> Iterator[ContractRecorder]:
    """Install the contract validator on every SDK client the providers build."""
    hooks = {k: list(v) for k, v in contract.event_hooks().items()}
    clients.OBSERVERS.append(hooks)
    try:
        yield contract
    finally:
        clients.OBSERVERS.remove(hooks)
    contract.assert_clean()

"""The cluster ids `deploy/local/services` formats Kafka with never start with '-'.

`kafka-storage format -t <id>` reads an id starting with '-' as an option and fails ("argument --cluster-id: expected
one argument"); URL-safe base64 of random bytes starts with '-' once in 64 draws, which made a private Kafka of the
suite fail to start now and then.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import uuid
from types import ModuleType

import pytest

from tests.paths import REPO


def services_module() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("local_services", str(REPO / "deploy" / "local" / "services"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


def test_an_id_that_would_start_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    services = services_module()
    # 0xf8 as the first byte encodes to '-' in URL-safe base64: the first draw must be refused.
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x10" + bytes(15))])
    monkeypatch.setattr(services.uuid, "uuid4", lambda: next(draws))
    cluster_id = services.new_cluster_id()
    assert cluster_id == "EAAAAAAAAAAAAAAAAAAAAA"
    assert len(cluster_id) == 22 and not cluster_id.startswith("-")


def test_many_ids_are_all_usable() -> None:
    services = services_module()
    ids = {services.new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000 and not any(i.startswith("-") for i in ids)

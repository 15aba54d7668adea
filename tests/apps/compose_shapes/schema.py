"""A structured schema for the root config: typed fields a value override is validated against."""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class Schema:
    seed: int = 0
    name: str = "run"
    tags: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    job_tag: str = ""
    when: str = ""
    model: Any = None
    train_data: Any = None


ConfigStore.instance().store(name="schema", node=Schema)

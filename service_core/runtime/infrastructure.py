"""The database and broker fleetcare runs on: configured ones, or embedded ones started here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from gateway.mqtt import BrokerAddress
from service_core.runtime.embedded_broker import EmbeddedBroker
from service_core.runtime.embedded_postgres import EmbeddedPostgres
from service_core.schema import upgrade
from service_core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Infrastructure:
    """Context manager: start what is not configured, apply the schema, stop what was started."""

    settings: Settings
    database_url: str = ""
    mqtt_url: str = ""
    mqtt5: bool = True
    notes: dict[str, str] = field(default_factory=dict)
    _postgres: EmbeddedPostgres | None = None
    _broker: EmbeddedBroker | None = None

    @property
    def broker(self) -> BrokerAddress:
        return BrokerAddress.parse(self.mqtt_url)

    def __enter__(self) -> Infrastructure:
        s = self.settings
        try:
            if s.database_url:
                self.database_url = s.database_url
                self.notes["database"] = "configured"
            else:
                self._postgres = EmbeddedPostgres(s.data_dir)
                self.database_url = self._postgres.start()
                taken = "" if self._postgres.port == 5432 else "; 5432 was taken"
                self.notes["database"] = f"embedded, data in {self._postgres.pgdata}{taken}"
            if s.mqtt_url:
                self.mqtt_url = s.mqtt_url
                self.mqtt5 = True if s.mqtt5 is None else s.mqtt5
                self.notes["broker"] = "configured"
            else:
                self._broker = EmbeddedBroker()
                self.mqtt_url = self._broker.start()
                self.mqtt5 = False  # amqtt speaks MQTT 3.1.1 only
                taken = "" if self._broker.port == 1883 else "; 1883 was taken"
                self.notes["broker"] = f"embedded amqtt, MQTT 3.1.1{taken}"
            applied = upgrade(self.database_url)
            self.notes["schema"] = f"{len(applied)} migration(s) applied" if applied else "up to date"
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._broker:
            self._broker.stop()
            self._broker = None
        if self._postgres:
            self._postgres.stop()
            self._postgres = None

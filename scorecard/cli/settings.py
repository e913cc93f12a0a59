"""``make_settings``: the ``Settings`` a command builds from its options (the Kafka, Redis and topic options), with
the shared defaults of ``scorecard.config`` for what it does not take.
"""

from __future__ import annotations

from scorecard.config import ENV_DEFAULTS, KafkaSecurity, RedisOptions, Settings


def make_settings(
    *,
    kafka_bootstrap: str = ENV_DEFAULTS["SCORECARD_KAFKA_BOOTSTRAP"],
    redis_url: str = ENV_DEFAULTS["SCORECARD_REDIS_URL"],
    topic: str = ENV_DEFAULTS["SCORECARD_TOPIC"],
    app_id: str = ENV_DEFAULTS["SCORECARD_APP_ID"],
    partitions: int = int(ENV_DEFAULTS["SCORECARD_PARTITIONS"]),
    redis_options: RedisOptions | None = None,
    kafka_security: KafkaSecurity | None = None,
    replication_factor: int = 1,
) -> Settings:
    return Settings(
        kafka_bootstrap,
        redis_url,
        ENV_DEFAULTS["SCORECARD_PROMETHEUS_URL"],
        topic,
        app_id,
        partitions,
        redis_options or RedisOptions(),
        kafka_security=kafka_security or KafkaSecurity(),
        replication_factor=replication_factor,
    )

"""The event bus over Kafka: publisher, outbox relay, consumer loop, dead letters."""

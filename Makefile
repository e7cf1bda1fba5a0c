.PHONY: install test test-all lint format bench serve

install:
	pip install -e ".[test]"

test:
	pytest

# What CI runs: SQLite + PostgreSQL, Celery over Redis and RabbitMQ.
test-all:
	HUITONG_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \
	HUITONG_TEST_BROKER_URLS=redis://127.0.0.1:6379/14,amqp://guest:guest@127.0.0.1:5672// \
	pytest

lint:
	ruff check .
	ruff format --check .
	mypy

format:
	ruff format .
	ruff check --fix .

bench:
	python bench/bus_throughput.py

serve:
	huitong serve

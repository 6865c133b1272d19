"""Django's Redis cache backend, keeping one Redis client per connection pool.

Django builds a new ``redis.Redis`` object for every cache call, and building one (its
table of response callbacks) costs more than the GET it wraps. Every frame upload makes
two or three cache calls (rate limit, session) and the worker one per frame, so the
clients are reused; they are thread-safe, and their pools reconnect after a fork.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ReusingClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: str | None = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ReusingRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with its clients reused."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient

"""Who is asking: the client's network address, for rate limits and login lock-outs.

Behind a reverse proxy every request comes from the proxy's address, so the real one must
be read from a header the proxy sets; but any client can send that header itself, so it is
read only when the deployment names it (``CLIENT_ADDRESS_HEADER``, e.g. ``HTTP_X_REAL_IP``
behind the compose nginx, which overwrites it). Otherwise the socket's address is used.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address: the trusted proxy header's, else the socket's ``REMOTE_ADDR``.

    A comma-separated header (``X-Forwarded-For``) is read from its right-most entry, the one
    the trusted proxy appended; what a client wrote before it is ignored.
    """
    header = settings.CLIENT_ADDRESS_HEADER
    if header:
        value = request.META.get(header, "").rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass  # missing or garbled: the proxy did not set it, fall back to the socket
    return request.META.get("REMOTE_ADDR", "")

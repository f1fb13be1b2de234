"""``RemoteMonitor``: post each epoch's logs to an HTTP server."""

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

from lamina.callbacks.callback import Callback, pythonify_logs
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.callbacks")
class RemoteMonitor(Callback):
    """Stream the logs of every epoch to a server, as an HTTP POST to ``root + path``.

    The body is ``{"epoch": epoch, **logs}`` encoded as JSON: sent as is with content type
    ``application/json`` when `send_as_json` is set, otherwise as the value of the form field
    `field` (``application/x-www-form-urlencoded``). A server that cannot be reached gives a
    warning, never an error: training goes on. Uses only the Python standard library.

    Args:
        root: The root URL of the server. Defaults to ``"http://localhost:9000"``.
        path: The path, relative to `root`, to post to. Defaults to ``"/publish/epoch/end/"``.
        field: The form field holding the JSON (form requests only). Defaults to ``"data"``.
        headers: Dict of extra HTTP headers, or `None`.
        send_as_json: Whether to send the JSON as the request body. Defaults to `False`.
        timeout: Seconds to wait for the server before giving up with a warning (Lamina only;
            Keras waits indefinitely). Defaults to 10.

    Example:

    >>> monitor = lamina.callbacks.RemoteMonitor(root="http://127.0.0.1:9000", send_as_json=True)
    >>> model.fit(x, y, epochs=3, callbacks=[monitor])
    """

    def __init__(
        self,
        root="http://localhost:9000",
        path="/publish/epoch/end/",
        field="data",
        headers=None,
        send_as_json=False,
        timeout=10.0,
    ):
        super().__init__()
        if headers is not None and not isinstance(headers, dict):
            raise TypeError(f"Argument `headers` must be a dict or None. Received: headers={headers!r}")
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    def on_epoch_end(self, epoch, logs=None):
        payload = {"epoch": epoch}
        payload.update(pythonify_logs(logs))
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(payload).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(payload)}).encode("utf-8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)

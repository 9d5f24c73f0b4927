"""AG-UI SSE load for Locust: ``locust -f harness/load/locustfile.py --host http://127.0.0.1:17080``.

One user class per scenario (``SimpleUser``, ``ToolsUser``, ``ChainUser``, ``A2AUser``, ``IdleUser``,
``ConversationUser``) weighted by the load config in ``$HARNESS_LOAD_CONFIG`` (inline JSON or a file; without
it, a default mix of all six). A shape is defined only when the config names one. Runs headless, with the
web UI, as master or worker; ``harness load run`` starts it this way as a subprocess.

Extra options: ``--summary-json FILE``, ``--metrics-port N``, ``--allow-host H,...``, ``--parent-pid P``.
"""

from __future__ import annotations

from harness.load import plugin, shapes, users
from harness.load.config import load_config

config = load_config()
hub = plugin.LoadHub(config)
hub.install()

globals().update(users.bind(config, hub))
_shape = shapes.bind(config, hub)
if _shape is not None:
    globals()[_shape.__name__] = _shape

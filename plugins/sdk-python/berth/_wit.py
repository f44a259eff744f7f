"""The componentize-py bindings this SDK wraps.

componentize-py generates the package ``wit_world`` from ``wit/`` when it
builds the component (``componentize-py -d wit -w WORLD bindings DIR``
writes the same files, for reading or for tests). In world
``tools-plugin`` only ``tools`` is exported; ``resources``, ``prompts`` and
``completion`` exist only in world ``plugin`` and are ``None`` here
otherwise. When the build adds ``wasi:http/imports`` (for
:mod:`berth.http`), berth's ``types`` is generated as
``berth_plugin_types`` (wasi:http has a ``types`` too). Nothing outside
``berth`` should need to import ``wit_world``.
"""

from componentize_py_types import Err  # noqa: F401  (re-exported)
from wit_world.exports import tools  # noqa: F401
from wit_world.imports import context  # noqa: F401

try:
    from wit_world.imports import types
except ImportError:  # with wasi:http imported, berth's `types` gets a qualified name
    from wit_world.imports import berth_plugin_types as types  # noqa: F401

try:
    from wit_world.exports import completion, prompts, resources
except ImportError:  # world tools-plugin
    completion = prompts = resources = None

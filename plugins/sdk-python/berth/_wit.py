"""The componentize-py bindings this SDK wraps.

componentize-py generates the package ``wit_world`` from ``wit/`` when it
builds the component (``componentize-py -d wit -w WORLD bindings DIR``
writes the same files, for reading or for tests). In world
``tools-plugin`` only ``tools`` is exported; ``resources``, ``prompts`` and
``completion`` exist only in world ``plugin`` and are ``None`` here
otherwise. Nothing outside ``berth`` should need to import ``wit_world``.
"""

from componentize_py_types import Err  # noqa: F401  (re-exported)
from wit_world.exports import tools  # noqa: F401
from wit_world.imports import context, types  # noqa: F401

try:
    from wit_world.exports import completion, prompts, resources
except ImportError:  # world tools-plugin
    completion = prompts = resources = None

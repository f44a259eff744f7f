"""The classes componentize-py exports, one per WIT interface: ``Tools``
(both worlds), and ``Resources``, ``Prompts`` and ``Completion`` (world
``plugin``). They dispatch to what the decorators registered.

``berth build`` writes an entry module that imports the user's module
(whose decorators register everything), then these classes, then calls
:func:`check_world`; componentize-py looks the classes up in that module.
Every method runs through :func:`berth.errors.guard`: a ``UserError``
becomes the WIT error, anything else is printed and traps.
"""

from . import prompts, resources, tools
from .errors import guard


class Tools:
    """WIT ``tools``."""

    def list_tools(self):
        return guard("list-tools", tools.list_tools)

    def call_tool(self, name, arguments, input):
        return guard(f"tool {name}", tools.call_tool, name, arguments, input)


class Resources:
    """WIT ``resources``."""

    def list_resources(self):
        return guard("list-resources", resources.list_resources)

    def list_resource_templates(self):
        return guard("list-resource-templates", resources.list_templates)

    def read_resource(self, uri):
        return guard(f"resource {uri}", resources.read, uri)


class Prompts:
    """WIT ``prompts``."""

    def list_prompts(self):
        return guard("list-prompts", prompts.list_prompts)

    def get_prompt(self, name, arguments, input):
        return guard(f"prompt {name}", prompts.get_prompt, name, arguments, input)


class Completion:
    """WIT ``completion``."""

    def complete(self, reference, argument_name, argument_value, context_arguments):
        return guard("complete", prompts.complete, reference, argument_name,
                     argument_value, context_arguments)


def check_world(world: str) -> None:
    """Fails the build of a plugin that does not fit ``world``.

    Raises:
        RuntimeError: when nothing is registered, or resources, prompts or
            completers are registered for world ``tools-plugin``.
    """
    more = resources.RESOURCES or resources.LISTERS or prompts.PROMPTS or prompts.COMPLETERS
    if world == "tools-plugin" and more:
        raise RuntimeError('this plugin has resources or prompts: set world = "plugin" '
                           "in the [build] table of its manifest")
    if not (tools.TOOLS or more):
        raise RuntimeError("this plugin registers nothing: decorate a function with @tool")

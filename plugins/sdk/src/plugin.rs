//! Plugins that serve more than tools (world `plugin`, feature `full`): one
//! trait with a default for everything, and [`crate::export`].

use crate::Error;
use crate::bindings::exports::berth::plugin::completion::{CompletionResult, Reference};
use crate::bindings::exports::berth::plugin::resources as wit;
use crate::prompt::Prompt;
use crate::resource::{Resource, Template};
use crate::tool::Tool;

/// Most completion values the host passes on.
pub const MAX_COMPLETIONS: usize = 100;

/// What a plugin serves. Every list is built again on each call (each call
/// runs in a fresh instance), so keep them to constructors.
pub trait Plugin {
    /// Its tools.
    fn tools() -> Vec<Tool> {
        Vec::new()
    }

    /// Its concrete resources, with their readers.
    fn resources() -> Vec<Resource> {
        Vec::new()
    }

    /// The resources `resources/list` shows this caller. By default the
    /// concrete resources; override it to list resources that live in
    /// state (they are read through a template).
    fn list_resources() -> Vec<wit::Resource> {
        Self::resources().iter().map(Resource::descriptor).collect()
    }

    /// Its resource templates, with their readers.
    fn templates() -> Vec<Template> {
        Vec::new()
    }

    /// Its prompts.
    fn prompts() -> Vec<Prompt> {
        Vec::new()
    }

    /// Suggests values for a prompt argument or template variable named
    /// `argument` whose partial value is `value`. By default none.
    ///
    /// # Errors
    /// Whatever prevents suggesting.
    fn complete(
        reference: &Reference,
        argument: &str,
        value: &str,
        context: &[(String, String)],
    ) -> Result<CompletionResult, Error> {
        let _ = (reference, argument, value, context);
        Ok(completions(Vec::new()))
    }
}

/// A completion result of `values` (best first): at most
/// [`MAX_COMPLETIONS`] of them, with the total and whether there are more.
pub fn completions(mut values: Vec<String>) -> CompletionResult {
    let total = values.len();
    values.truncate(MAX_COMPLETIONS);
    CompletionResult {
        has_more: total > values.len(),
        total: u32::try_from(total).ok(),
        values,
    }
}

/// Exports a [`Plugin`] as this component's `tools`, `resources`, `prompts`
/// and `completion` interfaces.
#[macro_export]
macro_rules! export {
    ($plugin:ty) => {
        struct __BerthExports;

        impl $crate::bindings::exports::berth::plugin::tools::Guest for __BerthExports {
            fn list_tools() -> ::std::vec::Vec<$crate::bindings::exports::berth::plugin::tools::Tool> {
                $crate::describe(&<$plugin as $crate::Plugin>::tools())
            }

            fn call_tool(
                name: ::std::string::String,
                arguments: ::std::string::String,
                input: ::std::option::Option<$crate::bindings::berth::plugin::types::InputAnswers>,
            ) -> ::std::result::Result<$crate::bindings::exports::berth::plugin::tools::ToolOutcome, $crate::Error> {
                $crate::dispatch(<$plugin as $crate::Plugin>::tools(), &name, &arguments, input)
            }
        }

        impl $crate::bindings::exports::berth::plugin::resources::Guest for __BerthExports {
            fn list_resources() -> ::std::vec::Vec<$crate::bindings::exports::berth::plugin::resources::Resource> {
                <$plugin as $crate::Plugin>::list_resources()
            }

            fn list_resource_templates() -> ::std::vec::Vec<$crate::bindings::exports::berth::plugin::resources::ResourceTemplate> {
                <$plugin as $crate::Plugin>::templates()
                    .iter()
                    .map($crate::resource::Template::descriptor)
                    .collect()
            }

            fn read_resource(
                uri: ::std::string::String,
            ) -> ::std::result::Result<::std::vec::Vec<$crate::ResourceContents>, $crate::Error> {
                $crate::resource::read(
                    &<$plugin as $crate::Plugin>::resources(),
                    &<$plugin as $crate::Plugin>::templates(),
                    &uri,
                )
            }
        }

        impl $crate::bindings::exports::berth::plugin::prompts::Guest for __BerthExports {
            fn list_prompts() -> ::std::vec::Vec<$crate::bindings::exports::berth::plugin::prompts::Prompt> {
                <$plugin as $crate::Plugin>::prompts()
                    .iter()
                    .map($crate::prompt::Prompt::descriptor)
                    .collect()
            }

            fn get_prompt(
                name: ::std::string::String,
                arguments: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                input: ::std::option::Option<$crate::bindings::berth::plugin::types::InputAnswers>,
            ) -> ::std::result::Result<$crate::bindings::exports::berth::plugin::prompts::PromptOutcome, $crate::Error> {
                $crate::prompt::render(&<$plugin as $crate::Plugin>::prompts(), &name, arguments, input)
            }
        }

        impl $crate::bindings::exports::berth::plugin::completion::Guest for __BerthExports {
            fn complete(
                reference: $crate::bindings::exports::berth::plugin::completion::Reference,
                argument_name: ::std::string::String,
                argument_value: ::std::string::String,
                context_arguments: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::std::result::Result<$crate::bindings::exports::berth::plugin::completion::CompletionResult, $crate::Error> {
                <$plugin as $crate::Plugin>::complete(
                    &reference,
                    &argument_name,
                    &argument_value,
                    &context_arguments,
                )
            }
        }

        $crate::bindings::export_plugin!(__BerthExports with_types_in $crate::bindings);
    };
}

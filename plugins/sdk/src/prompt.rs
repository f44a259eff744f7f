//! Prompts: templates a user picks, rendered with arguments into messages.

use crate::Error;
use crate::bindings::berth::plugin::types::{
    BinaryContent, Content, EmbeddedResource, InputAnswers, ResourceContents, Role, TextContent,
};
use crate::bindings::exports::berth::plugin::prompts::{
    self as wit, PromptMessage, PromptOutcome, PromptResult,
};
use crate::input::{Input, Outcome};

/// What a prompt handler returns.
pub type PromptAsk = Result<Outcome<PromptResult>, Error>;

impl From<PromptResult> for Outcome<PromptResult> {
    fn from(result: PromptResult) -> Self {
        Self::Done(result)
    }
}

/// The arguments a prompt was rendered with.
pub struct Args(Vec<(String, String)>);

impl Args {
    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

type Handler = Box<dyn Fn(&Args, &Input) -> PromptAsk>;

/// One prompt: its descriptor and its handler.
pub struct Prompt {
    descriptor: wit::Prompt,
    handler: Handler,
}

/// A prompt called `name`, rendered by `handler`.
pub fn prompt<F>(name: &str, description: &str, handler: F) -> Prompt
where
    F: Fn(&Args) -> Result<PromptResult, Error> + 'static,
{
    prompt_with_input(name, description, move |args, _| {
        handler(args).map(Outcome::Done)
    })
}

/// A prompt whose handler may ask the client first (see [`crate::input`]).
pub fn prompt_with_input<F>(name: &str, description: &str, handler: F) -> Prompt
where
    F: Fn(&Args, &Input) -> PromptAsk + 'static,
{
    Prompt {
        descriptor: wit::Prompt {
            name: name.to_owned(),
            title: None,
            description: Some(description.to_owned()),
            arguments: Vec::new(),
            icons: Vec::new(),
        },
        handler: Box::new(handler),
    }
}

impl Prompt {
    /// Adds an argument.
    pub fn arg(mut self, name: &str, description: &str, required: bool) -> Self {
        self.descriptor.arguments.push(wit::PromptArgument {
            name: name.to_owned(),
            title: None,
            description: Some(description.to_owned()),
            required,
        });
        self
    }

    /// Sets a human-readable title.
    pub fn title(mut self, title: &str) -> Self {
        self.descriptor.title = Some(title.to_owned());
        self
    }

    /// Its descriptor, for `list-prompts`.
    pub fn descriptor(&self) -> wit::Prompt {
        self.descriptor.clone()
    }
}

/// Renders the prompt called `name`, for `get-prompt`. Required arguments
/// that are missing are refused before the handler runs.
///
/// # Errors
/// `not-found` for an unknown prompt, `invalid-params` for a missing
/// required argument, and whatever the handler returns.
pub fn render(
    prompts: &[Prompt],
    name: &str,
    arguments: Vec<(String, String)>,
    input: Option<InputAnswers>,
) -> Result<PromptOutcome, Error> {
    let prompt = prompts
        .iter()
        .find(|p| p.descriptor.name == name)
        .ok_or_else(|| Error::NotFound(format!("no prompt named {name}")))?;
    for a in &prompt.descriptor.arguments {
        if a.required && !arguments.iter().any(|(k, _)| *k == a.name) {
            return Err(Error::InvalidParams(format!(
                "prompt {name} needs the argument {}",
                a.name
            )));
        }
    }
    Ok(
        match (prompt.handler)(&Args(arguments), &Input::from_wit(input))? {
            Outcome::Done(result) => PromptOutcome::Done(result),
            Outcome::Ask(ask) => PromptOutcome::Input(ask.into_wit()),
        },
    )
}

/// A rendered prompt of `messages`.
pub fn messages(messages: Vec<PromptMessage>) -> PromptResult {
    PromptResult {
        description: None,
        messages,
    }
}

/// A message of plain text from the user.
pub fn user_text(text: impl Into<String>) -> PromptMessage {
    PromptMessage {
        role: Role::User,
        content: Content::Text(TextContent {
            text: text.into(),
            annotations: None,
        }),
    }
}

/// A message of plain text from the assistant.
pub fn assistant_text(text: impl Into<String>) -> PromptMessage {
    PromptMessage {
        role: Role::Assistant,
        content: Content::Text(TextContent {
            text: text.into(),
            annotations: None,
        }),
    }
}

/// A message from the user showing an image.
pub fn user_image(data: Vec<u8>, mime: &str) -> PromptMessage {
    PromptMessage {
        role: Role::User,
        content: Content::Image(BinaryContent {
            data,
            mime_type: mime.to_owned(),
            annotations: None,
        }),
    }
}

/// A message from the user embedding a resource.
pub fn user_resource(contents: ResourceContents) -> PromptMessage {
    PromptMessage {
        role: Role::User,
        content: Content::Resource(EmbeddedResource {
            contents,
            annotations: None,
        }),
    }
}

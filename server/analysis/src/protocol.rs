//! The language-neutral protocol model: what a value provides, what a use site requires, and
//! the table that maps a mismatch between the two to a rule.
//!
//! Front ends (Python, later Rust) translate their syntax into [`UseSiteKind`]s and
//! [`Provided`] values; everything after that is a table lookup, so adding a rule means adding a
//! row to [`MISMATCHES`], not a special case in a checker.

use std::fmt;

use crate::rules::Rule;

/// One protocol an object can implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    /// `__await__`: `await x`.
    Await,
    /// `__aiter__`/`__anext__`: `async for`.
    AsyncIter,
    /// `__aenter__`/`__aexit__`: `async with`.
    AsyncCm,
    /// `__iter__`: `for`.
    Iter,
    /// `__enter__`/`__exit__`: `with`.
    Cm,
    /// `__call__`: `x()`.
    Call,
}

impl Capability {
    pub const ALL: [Capability; 6] = [
        Capability::Await,
        Capability::AsyncIter,
        Capability::AsyncCm,
        Capability::Iter,
        Capability::Cm,
        Capability::Call,
    ];

    const fn bit(self) -> u8 {
        match self {
            Capability::Await => 1,
            Capability::AsyncIter => 1 << 1,
            Capability::AsyncCm => 1 << 2,
            Capability::Iter => 1 << 3,
            Capability::Cm => 1 << 4,
            Capability::Call => 1 << 5,
        }
    }

    /// How the capability is spelled for a Python reader.
    pub fn python_description(self) -> &'static str {
        match self {
            Capability::Await => "an awaitable (`__await__`)",
            Capability::AsyncIter => "an async iterable (`__aiter__`/`__anext__`)",
            Capability::AsyncCm => "an async context manager (`__aenter__`/`__aexit__`)",
            Capability::Iter => "an iterable (`__iter__`)",
            Capability::Cm => "a context manager (`__enter__`/`__exit__`)",
            Capability::Call => "a callable (`__call__`)",
        }
    }
}

/// A set of [`Capability`]s, as a bit set.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CapabilitySet(u8);

impl CapabilitySet {
    pub const EMPTY: CapabilitySet = CapabilitySet(0);

    pub const fn of(capabilities: &[Capability]) -> CapabilitySet {
        let mut bits = 0;
        let mut idx = 0;
        while idx < capabilities.len() {
            bits |= capabilities[idx].bit();
            idx += 1;
        }
        CapabilitySet(bits)
    }

    pub const fn contains(self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    #[must_use]
    pub const fn with(self, capability: Capability) -> CapabilitySet {
        CapabilitySet(self.0 | capability.bit())
    }

    #[must_use]
    pub const fn union(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 | other.0)
    }

    #[must_use]
    pub const fn intersection(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 & other.0)
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |capability| self.contains(*capability))
    }
}

impl fmt::Debug for CapabilitySet {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_set().entries(self.iter()).finish()
    }
}

/// What kind of object a known value is; drives both the rule choice and the message wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// The object an `async def` with `yield` returns when called.
    AsyncGenerator,
    /// The object a plain `async def` returns when called.
    Coroutine,
    /// The object a `def` with `yield` returns when called.
    Generator,
    /// An instance of a class whose protocol dunders are all known.
    Instance,
    /// An object made by a context-manager decorator (`@asynccontextmanager`, `@contextmanager`).
    DecoratedContextManager,
    /// A value whose protocol comes from a type annotation (`-> AsyncIterator[T]`).
    Declared,
    /// An object made by a library API the built-in knowledge table describes.
    Library,
    /// A value whose protocol comes from the type layer's inference (typeshed, installed
    /// packages, annotations): see `python::types`.
    Inferred,
}

impl ValueKind {
    /// "an async generator", "a coroutine", … for messages.
    pub fn article_name(self) -> &'static str {
        match self {
            ValueKind::AsyncGenerator => "an async generator",
            ValueKind::Coroutine => "a coroutine",
            ValueKind::Generator => "a generator",
            ValueKind::Instance => "an instance",
            ValueKind::DecoratedContextManager => "a context manager",
            ValueKind::Declared => "a value declared",
            ValueKind::Library => "a library object",
            ValueKind::Inferred => "a value of an inferred type",
        }
    }
}

/// What a value is known to provide. Anything the engine cannot prove is [`Provided::Unknown`],
/// and unknown values never produce findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provided {
    Known {
        kind: ValueKind,
        capabilities: CapabilitySet,
        /// For an awaitable: what awaiting it gives, when known (`async def f() -> Conn`).
        awaits_to: Option<CapabilitySet>,
    },
    Unknown,
}

impl Provided {
    pub const fn known(kind: ValueKind, capabilities: CapabilitySet) -> Provided {
        Provided::Known { kind, capabilities, awaits_to: None }
    }

    /// What calling an `async def` with `yield` gives.
    pub const fn is_async_generator(self) -> bool {
        matches!(self, Provided::Known { kind: ValueKind::AsyncGenerator, .. })
    }

    #[must_use]
    pub const fn awaiting_to(self, result: CapabilitySet) -> Provided {
        match self {
            Provided::Known { kind, capabilities, .. } => {
                Provided::Known { kind, capabilities, awaits_to: Some(result) }
            }
            Provided::Unknown => Provided::Unknown,
        }
    }
}

/// A place in code that drives a value through one protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UseSiteKind {
    AsyncWith,
    With,
    AsyncFor,
    For,
    Await,
}

impl UseSiteKind {
    /// The capability this use site requires of its operand.
    pub const fn requires(self) -> Capability {
        match self {
            UseSiteKind::AsyncWith => Capability::AsyncCm,
            UseSiteKind::With => Capability::Cm,
            UseSiteKind::AsyncFor => Capability::AsyncIter,
            UseSiteKind::For => Capability::Iter,
            UseSiteKind::Await => Capability::Await,
        }
    }

    /// The Python spelling of the use site, for messages.
    pub const fn python_syntax(self) -> &'static str {
        match self {
            UseSiteKind::AsyncWith => "async with",
            UseSiteKind::With => "with",
            UseSiteKind::AsyncFor => "async for",
            UseSiteKind::For => "for",
            UseSiteKind::Await => "await",
        }
    }
}

/// What a row of the mismatch table asks of the provided value (besides lacking the capability
/// the use site requires).
#[derive(Debug)]
pub enum Provides {
    /// At least one of these capabilities.
    AnyOf(CapabilitySet),
    /// Anything at all: every known value lacking the capability is a mismatch.
    Anything,
    /// An awaitable whose awaited result has the required capability (the `await` is missing).
    AwaitedHasRequired,
}

/// One row of the mismatch table: at `use_site`, a value that lacks the required capability
/// and matches `provides` is reported under `rule`.
#[derive(Debug)]
pub struct Mismatch {
    pub use_site: UseSiteKind,
    pub provides: Provides,
    pub rule: Rule,
}

const fn row(use_site: UseSiteKind, provides: Provides, rule: Rule) -> Mismatch {
    Mismatch { use_site, provides, rule }
}

const fn any_of(capabilities: &[Capability]) -> Provides {
    Provides::AnyOf(CapabilitySet::of(capabilities))
}

/// The mismatch table. Rows are tried in order; the first that matches wins, so the more
/// specific diagnosis comes first (a missing `await` before "a coroutine is not iterable").
pub static MISMATCHES: &[Mismatch] = &[
    row(UseSiteKind::AsyncWith, Provides::AwaitedHasRequired, Rule::MissingAwait),
    row(UseSiteKind::AsyncFor, Provides::AwaitedHasRequired, Rule::MissingAwait),
    row(UseSiteKind::With, Provides::AwaitedHasRequired, Rule::MissingAwait),
    row(UseSiteKind::For, Provides::AwaitedHasRequired, Rule::MissingAwait),
    row(UseSiteKind::AsyncWith, any_of(&[Capability::AsyncIter]), Rule::AsyncWithOnAsyncGenerator),
    row(UseSiteKind::AsyncWith, any_of(&[Capability::Cm]), Rule::AsyncWithOnSyncContextManager),
    row(UseSiteKind::AsyncFor, any_of(&[Capability::AsyncCm]), Rule::AsyncForOnAsyncContextManager),
    row(UseSiteKind::AsyncFor, any_of(&[Capability::Iter]), Rule::AsyncForOnSyncIterable),
    row(UseSiteKind::With, any_of(&[Capability::AsyncCm, Capability::AsyncIter]), Rule::WithOnAsyncObject),
    row(UseSiteKind::For, any_of(&[Capability::AsyncIter]), Rule::ForOnAsyncIterable),
    row(UseSiteKind::Await, Provides::Anything, Rule::AwaitOnNonAwaitable),
];

/// The rule a use site of `kind` breaks when driven over `provided`, if any.
///
/// A value that provides the required capability is fine; an unknown value is fine; a known value
/// that lacks it is reported only when a row of [`MISMATCHES`] describes the pair, so every
/// finding has a rule with a tailored message and fix.
pub fn classify(kind: UseSiteKind, provided: Provided) -> Option<Rule> {
    let Provided::Known { capabilities, awaits_to, .. } = provided else {
        return None;
    };
    let required = kind.requires();
    if capabilities.contains(required) {
        return None;
    }
    MISMATCHES
        .iter()
        .filter(|row| row.use_site == kind)
        .find(|row| match &row.provides {
            Provides::AnyOf(wanted) => wanted.iter().any(|capability| capabilities.contains(capability)),
            Provides::Anything => true,
            Provides::AwaitedHasRequired => {
                capabilities.contains(Capability::Await) && awaits_to.is_some_and(|result| result.contains(required))
            }
        })
        .map(|row| row.rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASYNC_GENERATOR: Provided =
        Provided::known(ValueKind::AsyncGenerator, CapabilitySet::of(&[Capability::AsyncIter]));

    const fn known(kind: ValueKind, capabilities: &[Capability]) -> Provided {
        Provided::known(kind, CapabilitySet::of(capabilities))
    }

    /// One line per (use site, value) pair: the whole table at a glance.
    #[test]
    fn the_python_mismatch_table() {
        use Capability::{AsyncCm, AsyncIter, Await, Call, Cm, Iter};
        use UseSiteKind::{AsyncFor, AsyncWith, For, With};
        let async_cm = known(ValueKind::DecoratedContextManager, &[AsyncCm, Call]);
        let sync_cm = known(ValueKind::DecoratedContextManager, &[Cm, Call]);
        let generator = known(ValueKind::Generator, &[Iter]);
        let coroutine = known(ValueKind::Coroutine, &[Await]);
        let cases = [
            (AsyncWith, ASYNC_GENERATOR, Some(Rule::AsyncWithOnAsyncGenerator)),
            (AsyncFor, ASYNC_GENERATOR, None),
            (With, ASYNC_GENERATOR, Some(Rule::WithOnAsyncObject)),
            (For, ASYNC_GENERATOR, Some(Rule::ForOnAsyncIterable)),
            (UseSiteKind::Await, ASYNC_GENERATOR, Some(Rule::AwaitOnNonAwaitable)),
            (AsyncFor, async_cm, Some(Rule::AsyncForOnAsyncContextManager)),
            (AsyncWith, async_cm, None),
            (With, async_cm, Some(Rule::WithOnAsyncObject)),
            (AsyncWith, sync_cm, Some(Rule::AsyncWithOnSyncContextManager)),
            (With, sync_cm, None),
            (AsyncFor, generator, Some(Rule::AsyncForOnSyncIterable)),
            (For, generator, None),
            (UseSiteKind::Await, coroutine, None),
            (AsyncWith, coroutine, None),
            (AsyncWith, coroutine.awaiting_to(CapabilitySet::of(&[AsyncCm])), Some(Rule::MissingAwait)),
            (AsyncFor, coroutine.awaiting_to(CapabilitySet::of(&[AsyncIter])), Some(Rule::MissingAwait)),
            (For, coroutine.awaiting_to(CapabilitySet::of(&[Iter])), Some(Rule::MissingAwait)),
            (With, coroutine.awaiting_to(CapabilitySet::of(&[Cm])), Some(Rule::MissingAwait)),
            (For, coroutine.awaiting_to(CapabilitySet::of(&[AsyncIter])), None),
            (AsyncFor, coroutine.awaiting_to(CapabilitySet::of(&[Cm])), None),
        ];
        for (use_site, provided, expected) in cases {
            assert_eq!(classify(use_site, provided), expected, "{use_site:?} over {provided:?}");
        }
    }

    #[test]
    fn matching_protocol_is_fine() {
        let both =
            Provided::known(ValueKind::Instance, CapabilitySet::of(&[Capability::AsyncIter, Capability::AsyncCm]));
        assert_eq!(classify(UseSiteKind::AsyncWith, both), None);
        assert_eq!(classify(UseSiteKind::AsyncFor, both), None);
    }

    #[test]
    fn unknown_is_silent() {
        for kind in
            [UseSiteKind::AsyncWith, UseSiteKind::With, UseSiteKind::AsyncFor, UseSiteKind::For, UseSiteKind::Await]
        {
            assert_eq!(classify(kind, Provided::Unknown), None);
        }
    }

    #[test]
    fn capability_set_round_trips() {
        let set = CapabilitySet::of(&[Capability::Await, Capability::Cm]);
        assert!(set.contains(Capability::Await));
        assert!(!set.contains(Capability::AsyncCm));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![Capability::Await, Capability::Cm]);
        assert!(CapabilitySet::EMPTY.is_empty());
    }
}

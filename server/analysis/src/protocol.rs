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
        }
    }
}

/// What a value is known to provide. Anything the engine cannot prove is [`Provided::Unknown`],
/// and unknown values never produce findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provided {
    Known { kind: ValueKind, capabilities: CapabilitySet },
    Unknown,
}

impl Provided {
    pub const fn known(kind: ValueKind, capabilities: CapabilitySet) -> Provided {
        Provided::Known { kind, capabilities }
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

/// One row of the mismatch table: at a `use_site`, a value that lacks the required capability
/// and provides `provides_any` (at least one of them) is reported under `rule`.
#[derive(Debug)]
pub struct Mismatch {
    pub use_site: UseSiteKind,
    pub provides_any: CapabilitySet,
    pub rule: Rule,
}

/// The mismatch table. Rows are tried in order; the first that matches wins.
pub static MISMATCHES: &[Mismatch] = &[Mismatch {
    use_site: UseSiteKind::AsyncWith,
    provides_any: CapabilitySet::of(&[Capability::AsyncIter]),
    rule: Rule::AsyncWithOnAsyncGenerator,
}];

/// The rule a use site of `kind` breaks when driven over `provided`, if any.
///
/// A value that provides the required capability is fine; an unknown value is fine; a known value
/// that lacks it is reported only when a row of [`MISMATCHES`] describes the pair, so every
/// finding has a rule with a tailored message and fix.
pub fn classify(kind: UseSiteKind, provided: Provided) -> Option<Rule> {
    let Provided::Known { capabilities, .. } = provided else {
        return None;
    };
    if capabilities.contains(kind.requires()) {
        return None;
    }
    MISMATCHES
        .iter()
        .find(|row| row.use_site == kind && row.provides_any.iter().any(|cap| capabilities.contains(cap)))
        .map(|row| row.rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASYNC_GENERATOR: Provided =
        Provided::known(ValueKind::AsyncGenerator, CapabilitySet::of(&[Capability::AsyncIter]));

    #[test]
    fn async_with_on_async_generator_is_apm101() {
        assert_eq!(classify(UseSiteKind::AsyncWith, ASYNC_GENERATOR), Some(Rule::AsyncWithOnAsyncGenerator));
    }

    #[test]
    fn matching_protocol_is_fine() {
        assert_eq!(classify(UseSiteKind::AsyncFor, ASYNC_GENERATOR), None);
        let both =
            Provided::known(ValueKind::Instance, CapabilitySet::of(&[Capability::AsyncIter, Capability::AsyncCm]));
        assert_eq!(classify(UseSiteKind::AsyncWith, both), None);
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

//! The rule catalogue: stable codes, kebab-case names, defaults and documentation.
//!
//! This mirrors `shared/RULES.md`. Codes and names are a public contract (they appear in
//! suppression comments and configuration), so they never change once released.

use std::fmt;

/// How loudly a rule reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! rules {
    ($($variant:ident => ($code:literal, $name:literal, $enabled:literal, $severity:ident, $summary:literal),)*) => {
        /// Every rule asyncsense knows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $($variant,)*
        }

        impl Rule {
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable code, e.g. `APM101`.
            pub const fn code(self) -> &'static str {
                match self { $(Rule::$variant => $code,)* }
            }

            /// The kebab-case name, e.g. `async-with-on-async-generator`.
            pub const fn name(self) -> &'static str {
                match self { $(Rule::$variant => $name,)* }
            }

            /// Whether the rule runs without being selected explicitly.
            pub const fn enabled_by_default(self) -> bool {
                match self { $(Rule::$variant => $enabled,)* }
            }

            pub const fn severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$severity,)* }
            }

            /// One sentence on what the rule flags.
            pub const fn summary(self) -> &'static str {
                match self { $(Rule::$variant => $summary,)* }
            }
        }
    };
}

rules! {
    AsyncWithOnAsyncGenerator => ("APM101", "async-with-on-async-generator", true, Error,
        "`async with` on an async generator (or another object that is only async-iterable)"),
    AsyncForOnAsyncContextManager => ("APM102", "async-for-on-async-context-manager", true, Error,
        "`async for` over an async context manager"),
    WithOnAsyncObject => ("APM103", "with-on-async-object", true, Error,
        "plain `with` on an object that is only an async context manager or an async generator"),
    ForOnAsyncIterable => ("APM104", "for-on-async-iterable", true, Error,
        "plain `for` over an object that is only async-iterable"),
    AsyncForOnSyncIterable => ("APM105", "async-for-on-sync-iterable", true, Error,
        "`async for` over a synchronous generator or iterable"),
    AsyncWithOnSyncContextManager => ("APM106", "async-with-on-sync-context-manager", true, Error,
        "`async with` on a synchronous context manager"),
    AwaitOnNonAwaitable => ("APM107", "await-on-non-awaitable", true, Error,
        "`await` on an async generator or another known non-awaitable"),
    MissingAwait => ("APM108", "missing-await", true, Error,
        "`async with`/`async for` on a coroutine whose awaited result has the protocol"),
    UncalledFactory => ("APM109", "uncalled-factory", true, Error,
        "a function used where its call result was meant"),
    TestDoubleProtocolMismatch => ("APM201", "test-double-protocol-mismatch", true, Warning,
        "a test double emulates a different protocol than the real target it replaces"),
    AnnotationContradictsBody => ("APM301", "annotation-contradicts-body", true, Warning,
        "a return annotation that contradicts what the function body makes"),
    AmbiguousFactoryName => ("APM302", "ambiguous-factory-name", false, Warning,
        "an async generator named like a context-manager getter and used as one"),
    StreamAsGuard => ("APM401", "stream-as-guard", true, Error,
        "a lazy stream bound like an RAII scope guard and never polled"),
    DiscardedStream => ("APM402", "discarded-stream", true, Warning,
        "a stream discarded without being polled"),
    DroppedGuard => ("APM403", "dropped-guard", true, Error,
        "a lock or span guard released on the spot by `let _ =`"),
    SpanGuardAcrossAwait => ("APM404", "span-guard-across-await", true, Warning,
        "a tracing span guard held across an `.await`"),
    UnawaitedFutureBinding => ("APM405", "unawaited-future-binding", true, Error,
        "a future bound to a name and never awaited"),
    StreamRecreatedInLoop => ("APM406", "stream-recreated-in-loop", true, Warning,
        "a fresh stream created on every loop iteration"),
    IfLetOnce => ("APM407", "if-let-once", false, Warning,
        "a spawned task that handles one message in an `if let` and ends"),
}

impl Rule {
    /// Looks a rule up by code (`APM101`, any case) or name (`async-with-on-async-generator`).
    pub fn from_code_or_name(text: &str) -> Option<Rule> {
        let text = text.trim();
        Rule::ALL.iter().copied().find(|rule| rule.code().eq_ignore_ascii_case(text) || rule.name() == text)
    }

    /// Long-form documentation, printed by `asyncsense rule CODE`.
    pub fn documentation(self) -> String {
        let details = match self {
            Rule::AsyncWithOnAsyncGenerator => {
                "An `async def` that contains `yield` is an async generator function: calling it \
                 gives an object you iterate with `async for`. It has no `__aenter__`/`__aexit__`, \
                 so `async with f() as x:` fails at runtime with `TypeError: 'async_generator' \
                 object does not support the asynchronous context manager protocol`.\n\n\
                 Type checkers miss it when the factory travels through an untyped attribute \
                 (`self.session_factory = get_session`), and unit tests miss it because `MagicMock` \
                 implements `__aenter__`.\n\n\
                 Fix: iterate it (`async for x in f():`; cleanup after the `yield` runs when the \
                 loop ends), or make it a context manager with `@contextlib.asynccontextmanager`."
            }
            _ => "See shared/RULES.md for the full semantics.",
        };
        format!("{} ({})\n\n{}\n\n{}\n", self.code(), self.name(), self.summary(), details)
    }
}

/// Which rules run: a bit set over [`Rule::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleSet(u64);

impl Default for RuleSet {
    /// The rules that are on by default.
    fn default() -> RuleSet {
        Rule::ALL.iter().filter(|rule| rule.enabled_by_default()).fold(RuleSet(0), |set, rule| set.with(*rule))
    }
}

impl RuleSet {
    pub const EMPTY: RuleSet = RuleSet(0);

    fn bit(rule: Rule) -> u64 {
        1 << (rule as u64)
    }

    #[must_use]
    pub fn with(self, rule: Rule) -> RuleSet {
        RuleSet(self.0 | Self::bit(rule))
    }

    #[must_use]
    pub fn without(self, rule: Rule) -> RuleSet {
        RuleSet(self.0 & !Self::bit(rule))
    }

    pub fn contains(self, rule: Rule) -> bool {
        self.0 & Self::bit(rule) != 0
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes: Vec<_> = Rule::ALL.iter().map(|rule| rule.code()).collect();
        let mut names: Vec<_> = Rule::ALL.iter().map(|rule| rule.name()).collect();
        codes.sort_unstable();
        codes.dedup();
        names.sort_unstable();
        names.dedup();
        assert_eq!(codes.len(), Rule::ALL.len());
        assert_eq!(names.len(), Rule::ALL.len());
        for rule in Rule::ALL {
            assert!(rule.code().starts_with("APM") && rule.code().len() == 6, "{rule:?}");
            assert!(rule.name().chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'), "{rule:?}");
        }
    }

    #[test]
    fn lookup_by_code_or_name() {
        assert_eq!(Rule::from_code_or_name("apm101"), Some(Rule::AsyncWithOnAsyncGenerator));
        assert_eq!(Rule::from_code_or_name("async-with-on-async-generator"), Some(Rule::AsyncWithOnAsyncGenerator));
        assert_eq!(Rule::from_code_or_name("APM999"), None);
    }
}

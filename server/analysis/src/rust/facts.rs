//! Per-file facts: which functions return lazy streams and which are `async fn`, from syntax.

use std::collections::HashMap;

use syn::visit::Visit;
use syn::{Expr, GenericArgument, PathArguments, ReturnType, Signature, Stmt, Type, TypeParamBound};

/// What a call to a function of this file produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Produces {
    /// A lazy stream; `must_use` says whether rustc already warns when it is discarded.
    Stream {
        must_use: bool,
    },
    /// A future (an `async fn`); `stream_when_awaited` when awaiting it gives a stream.
    Future {
        stream_when_awaited: bool,
    },
    Other,
}

#[derive(Default)]
pub struct Facts {
    /// Free functions and associated functions, by name (`None` when definitions disagree).
    pub functions: HashMap<String, Option<Produces>>,
    /// Methods with a `self` receiver, by name.
    pub methods: HashMap<String, Option<Produces>>,
}

/// Method names too common to trust a local definition for every call in the file.
const COMMON_METHODS: &[&str] = &[
    "iter",
    "iter_mut",
    "into_iter",
    "map",
    "filter",
    "next",
    "clone",
    "into",
    "get",
    "new",
    "default",
    "lock",
    "read",
    "write",
    "send",
    "recv",
    "run",
    "call",
    "poll",
    "boxed",
    "stream",
    "enter",
    "entered",
    "acquire",
];

impl Facts {
    pub fn collect(items: &[syn::Item]) -> Facts {
        let mut collector = Collector { facts: Facts::default() };
        for item in items {
            collector.visit_item(item);
        }
        collector.facts
    }

    pub fn function(&self, name: &str) -> Produces {
        self.functions.get(name).copied().flatten().unwrap_or(Produces::Other)
    }

    pub fn method(&self, name: &str) -> Produces {
        if COMMON_METHODS.contains(&name) {
            return Produces::Other;
        }
        self.methods.get(name).copied().flatten().unwrap_or(Produces::Other)
    }
}

struct Collector {
    facts: Facts,
}

impl Collector {
    fn record(&mut self, signature: &Signature, body: Option<&syn::Block>) {
        let is_method = signature.receiver().is_some();
        let map = if is_method { &mut self.facts.methods } else { &mut self.facts.functions };
        record(map, signature.ident.to_string(), Some(produces(signature, body)));
    }
}

/// Adds one definition of `name`; definitions that disagree make the name unknown (`None`).
pub fn record(map: &mut HashMap<String, Option<Produces>>, name: String, produces: Option<Produces>) {
    map.entry(name)
        .and_modify(|known| {
            if *known != produces {
                *known = None;
            }
        })
        .or_insert(produces);
}

/// What a call to the function with this signature (and body, when there is one) produces.
pub fn produces(signature: &Signature, body: Option<&syn::Block>) -> Produces {
    let stream = match &signature.output {
        ReturnType::Type(_, ty) => stream_type(ty),
        ReturnType::Default => None,
    }
    .or_else(|| body.and_then(tail_stream));
    match (signature.asyncness.is_some(), stream) {
        (true, stream) => Produces::Future { stream_when_awaited: stream.is_some() },
        (false, Some(must_use)) => Produces::Stream { must_use },
        (false, None) => Produces::Other,
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_fn(&mut self, node: &'ast syn::ItemFn) {
        self.record(&node.sig, Some(&node.block));
        syn::visit::visit_item_fn(self, node);
    }

    fn visit_impl_item_fn(&mut self, node: &'ast syn::ImplItemFn) {
        self.record(&node.sig, Some(&node.block));
        syn::visit::visit_impl_item_fn(self, node);
    }

    fn visit_trait_item_fn(&mut self, node: &'ast syn::TraitItemFn) {
        self.record(&node.sig, node.default.as_ref());
        syn::visit::visit_trait_item_fn(self, node);
    }

    // Nested functions inside bodies are recorded too (visit_item_fn reaches them).
}

/// `Some(must_use)` when the block's value is a stream constructor (`stream! { … }` included).
fn tail_stream(block: &syn::Block) -> Option<bool> {
    match block.stmts.last() {
        Some(Stmt::Expr(expr, None)) => stream_constructor(expr),
        Some(Stmt::Macro(mac)) if mac.semi_token.is_none() => {
            let name = last_segment(&mac.mac.path)?;
            STREAM_MACROS.contains(&name.as_str()).then_some(false)
        }
        _ => None,
    }
}

fn last_segment(path: &syn::Path) -> Option<String> {
    path.segments.last().map(|segment| segment.ident.to_string())
}

fn bound_is_stream(bound: &TypeParamBound) -> bool {
    match bound {
        TypeParamBound::Trait(bound) => {
            matches!(last_segment(&bound.path).as_deref(), Some("Stream" | "TryStream" | "FusedStream"))
        }
        _ => false,
    }
}

/// Named stream types that are not `#[must_use]` (rustc says nothing when they are dropped).
const STREAM_TYPES: &[&str] = &[
    "BoxStream",
    "LocalBoxStream",
    "ReceiverStream",
    "UnboundedReceiverStream",
    "BroadcastStream",
    "WatchStream",
    "IntervalStream",
];

/// `Some(must_use)` when `ty` is, syntactically, a lazy stream.
pub fn stream_type(ty: &Type) -> Option<bool> {
    match ty {
        Type::ImplTrait(imp) => imp.bounds.iter().any(bound_is_stream).then_some(true),
        Type::Paren(paren) => stream_type(&paren.elem),
        Type::Group(group) => stream_type(&group.elem),
        Type::Path(path) => {
            let segment = path.path.segments.last()?;
            let name = segment.ident.to_string();
            if STREAM_TYPES.contains(&name.as_str()) {
                return Some(false);
            }
            if name == "Pin" || name == "Box" {
                let PathArguments::AngleBracketed(args) = &segment.arguments else { return None };
                let Some(GenericArgument::Type(inner)) = args.args.first() else { return None };
                return match inner {
                    Type::TraitObject(object) if name == "Box" => {
                        object.bounds.iter().any(bound_is_stream).then_some(false)
                    }
                    Type::Path(_) if name == "Pin" => stream_type(inner),
                    _ => None,
                };
            }
            None
        }
        _ => None,
    }
}

const STREAM_MACROS: &[&str] = &["stream", "try_stream"];
const STREAM_FUNCTIONS: &[&str] = &[
    "unfold",
    "try_unfold",
    "iter",
    "once",
    "repeat",
    "repeat_with",
    "poll_fn",
    "select",
    "select_all",
    "empty",
    "pending",
];
const STREAM_ADAPTERS: &[&str] = &[
    "boxed",
    "boxed_local",
    "map",
    "then",
    "filter",
    "filter_map",
    "take",
    "skip",
    "take_while",
    "skip_while",
    "chain",
    "fuse",
    "peekable",
    "buffered",
    "buffer_unordered",
    "chunks",
    "map_ok",
    "map_err",
    "and_then",
    "inspect",
    "enumerate",
    "zip",
    "flatten",
    "throttle",
    "timeout",
];

/// `Some(must_use)` when `expr` constructs a stream by itself (no local facts needed).
pub fn stream_constructor(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::Macro(mac) => {
            let name = last_segment(&mac.mac.path)?;
            STREAM_MACROS.contains(&name.as_str()).then_some(false)
        }
        Expr::Call(call) => {
            let Expr::Path(path) = &*call.func else { return None };
            let segments: Vec<String> = path.path.segments.iter().map(|segment| segment.ident.to_string()).collect();
            let [.., owner, function] = segments.as_slice() else { return None };
            if (owner == "stream" || owner == "tokio_stream") && STREAM_FUNCTIONS.contains(&function.as_str()) {
                return Some(true);
            }
            (function == "new" && STREAM_TYPES.contains(&owner.as_str())).then_some(false)
        }
        Expr::MethodCall(call) if STREAM_ADAPTERS.contains(&call.method.to_string().as_str()) => {
            stream_constructor(&call.receiver).map(|_| call.method != "boxed" && call.method != "boxed_local")
        }
        Expr::Paren(paren) => stream_constructor(&paren.expr),
        Expr::Group(group) => stream_constructor(&group.expr),
        Expr::Block(block) if block.label.is_none() => tail_stream(&block.block),
        _ => None,
    }
}

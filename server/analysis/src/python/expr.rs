//! The expressions facts keep, and the names they intern, stored per module in two arenas.
//!
//! Resolution needs only a small picture of an expression: names, attributes, calls with their
//! first arguments, subscripts, unions and displays. Every module of a workspace keeps these for
//! as long as it is indexed, and they are the bulk of its facts, so they are not trees of boxes:
//! each node is 12 bytes in one vector, children are indices, lists sit end to end in another
//! vector, and names are interned in one string per arena. Binding names, definition names,
//! imports and indentation are interned there too ([`TextId`]).
//!
//! A module has two arenas. The *exported* one holds what other modules read (bindings,
//! definitions, constructor calls); the *private* one what only the module's own checks read
//! (use sites, test doubles). Two extractions with the same exports then build equal exported
//! arenas, whatever changed in the private facts, so comparing facts stays a plain `==`.
//!
//! An [`ExprId`] means something only with the [`Exprs`] of the module it came from.

use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;

use hashbrown::HashTable;
use ruff_python_ast::{self as ast, Expr as SyntaxExpr};

/// One expression of a module's [`Exprs`]: its index plus one (so that `Option<ExprId>` takes
/// four bytes), with [`PRIVATE`] set in the private arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(NonZeroU32);

/// Ids with this bit set are in the private arena.
const PRIVATE: u32 = 1 << 31;

impl ExprId {
    /// Anything we do not follow (literals, operators, …): resolves to unknown. The same id in
    /// every arena.
    pub const OTHER: ExprId = ExprId(NonZeroU32::MIN);
    /// The `None` literal.
    pub const NONE: ExprId = ExprId(NonZeroU32::MIN.saturating_add(1));

    /// The id of the node at `index` of the arena tagged `tag`.
    fn new(index: u32, tag: u32) -> ExprId {
        let raw = index.checked_add(1).filter(|raw| raw & PRIVATE == 0).expect("fewer than 2^31 nodes per arena");
        ExprId(NonZeroU32::new(raw | tag).expect("an index plus one"))
    }

    /// Whether the id is in the private arena, and its index there.
    fn split(self) -> (bool, usize) {
        let raw = self.0.get();
        ((raw & PRIVATE) != 0, ((raw & !PRIVATE) - 1) as usize)
    }

    /// A list's length, stored in front of its members.
    fn length(len: usize) -> ExprId {
        ExprId::new(u32::try_from(len).expect("lists shorter than 2^31"), 0)
    }
}

/// A list of expressions kept in a module's [`Exprs`] (with [`PRIVATE`] set in the private
/// arena): four bytes where a boxed slice takes sixteen plus its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExprList(u32);

impl ExprList {
    pub const EMPTY: ExprList = ExprList(EMPTY_LIST.0);

    pub fn is_empty(self) -> bool {
        self.0 & !PRIVATE == EMPTY_LIST.0
    }
}

/// A text interned in a module's [`Exprs`] (with [`PRIVATE`] set in the private arena).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TextId(u32);

/// A name interned in one arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Symbol(u32);

/// The start of a list in [`Arena::lists`]: its length, then its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct ListId(u32);

/// The empty list is always first.
const EMPTY_LIST: ListId = ListId(0);

/// A stored node: see [`Expr`] for what each means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Other,
    NoneLiteral,
    Name(Symbol),
    Attribute(ExprId, Symbol),
    Call(ExprId, ListId),
    Subscript(ExprId, ListId),
    Union(ListId),
    Or(ListId),
    Await(ExprId),
    Element(ExprId, u32),
    Entered(ExprId),
    Keyword(Symbol, ExprId),
    Collection(ListId),
    AsyncGenerator,
}

const _: () = assert!(std::mem::size_of::<Node>() == 12);

/// An expression as resolution reads it, borrowed from its module's [`Exprs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expr<'a> {
    Name(&'a str),
    Attribute(ExprId, &'a str),
    /// A call; positional arguments are kept (the first four), and of the keywords only those
    /// [`KEPT_KEYWORDS`] lists, as [`Expr::Keyword`] after the positional ones.
    Call(ExprId, &'a [ExprId]),
    /// `base[index]`; a tuple index is split into its elements (`Callable[[A], R]`).
    Subscript(ExprId, &'a [ExprId]),
    /// `A | B` (in annotations).
    Union(&'a [ExprId]),
    /// `a or b`: the value is one of them.
    Or(&'a [ExprId]),
    NoneLiteral,
    /// `await x`: what awaiting the value gives.
    Await(ExprId),
    /// One element of a tuple a call returns, by position (`a, b = f()`).
    Element(ExprId, u32),
    /// The target of `with x as target` / `async with x as target`: what entering `x` gives.
    Entered(ExprId),
    /// A keyword argument of an [`Expr::Call`]; `**kwargs` is kept as `"**"`.
    Keyword(&'a str, ExprId),
    /// A list, tuple or set display, or a dict display's values: indexing it gives one of them.
    Collection(&'a [ExprId]),
    /// A generator expression with an `async for` clause or an awaited element: evaluating it
    /// makes an async generator.
    AsyncGenerator,
    /// Anything else: literals, operators, … Resolves to unknown.
    Other,
}

/// Displays larger than this are kept as [`Expr::Other`]: tables of factories are small.
const MAX_COLLECTION: usize = 64;

/// Positional arguments kept per call.
const MAX_ARGUMENTS: usize = 4;

/// Keyword arguments kept in [`Expr::Call`]: `sessionmaker(class_=AsyncSession)` makes what its
/// `class_` says.
pub const KEPT_KEYWORDS: &[&str] = &["class_"];

/// One arena: nodes, lists and interned names.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Arena {
    nodes: Vec<Node>,
    /// Each list is its length followed by its members.
    lists: Vec<ExprId>,
    /// Every interned name, end to end.
    text: String,
    /// Where each symbol ends in `text` (it starts where the previous one ends).
    ends: Vec<u32>,
}

impl Default for Arena {
    fn default() -> Arena {
        Arena {
            nodes: vec![Node::Other, Node::NoneLiteral],
            lists: vec![ExprId::length(0)],
            text: String::new(),
            ends: Vec::new(),
        }
    }
}

impl Arena {
    fn symbol(&self, symbol: Symbol) -> &str {
        &self.text[self.symbol_range(symbol)]
    }

    /// The bytes of a symbol: no character-boundary checks, for comparisons.
    fn symbol_bytes(&self, symbol: Symbol) -> &[u8] {
        &self.text.as_bytes()[self.symbol_range(symbol)]
    }

    fn symbol_range(&self, symbol: Symbol) -> std::ops::Range<usize> {
        let index = symbol.0 as usize;
        let start = if index == 0 { 0 } else { self.ends[index - 1] as usize };
        start..self.ends[index] as usize
    }

    fn list(&self, list: ListId) -> &[ExprId] {
        list_at(&self.lists, list.0)
    }

    fn shrink_to_fit(&mut self) {
        super::shrink(&mut self.nodes);
        super::shrink(&mut self.lists);
        super::shrink_string(&mut self.text);
        super::shrink(&mut self.ends);
    }

    fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.lists.capacity() * std::mem::size_of::<ExprId>()
            + self.text.capacity()
            + self.ends.capacity() * std::mem::size_of::<u32>()
    }
}

/// The list stored at `start` of `lists`: its length, then its members.
fn list_at(lists: &[ExprId], start: u32) -> &[ExprId] {
    let start = start as usize;
    &lists[start + 1..start + 1 + lists[start].split().1]
}

/// A module's expressions: see the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exprs {
    exported: Arena,
    private: Arena,
}

impl Exprs {
    /// The expression `id` stands for. `id` must come from these facts.
    pub fn get(&self, id: ExprId) -> Expr<'_> {
        let (arena, index) = self.arena_of(id);
        match arena.nodes[index] {
            Node::Other => Expr::Other,
            Node::NoneLiteral => Expr::NoneLiteral,
            Node::Name(name) => Expr::Name(arena.symbol(name)),
            Node::Attribute(base, name) => Expr::Attribute(base, arena.symbol(name)),
            Node::Call(callee, arguments) => Expr::Call(callee, arena.list(arguments)),
            Node::Subscript(base, items) => Expr::Subscript(base, arena.list(items)),
            Node::Union(members) => Expr::Union(arena.list(members)),
            Node::Or(values) => Expr::Or(arena.list(values)),
            Node::Await(awaited) => Expr::Await(awaited),
            Node::Element(made, index) => Expr::Element(made, index),
            Node::Entered(entered) => Expr::Entered(entered),
            Node::Keyword(name, value) => Expr::Keyword(arena.symbol(name), value),
            Node::Collection(elements) => Expr::Collection(arena.list(elements)),
            Node::AsyncGenerator => Expr::AsyncGenerator,
        }
    }

    /// The members of a list.
    pub fn list(&self, list: ExprList) -> &[ExprId] {
        let arena = if list.0 & PRIVATE == 0 { &self.exported } else { &self.private };
        arena.list(ListId(list.0 & !PRIVATE))
    }

    /// An interned text.
    pub fn text(&self, text: TextId) -> &str {
        let arena = if text.0 & PRIVATE == 0 { &self.exported } else { &self.private };
        arena.symbol(Symbol(text.0 & !PRIVATE))
    }

    /// The bytes of an interned text (cheaper than [`Exprs::text`] for comparisons).
    pub fn text_bytes(&self, text: TextId) -> &[u8] {
        let arena = if text.0 & PRIVATE == 0 { &self.exported } else { &self.private };
        arena.symbol_bytes(Symbol(text.0 & !PRIVATE))
    }

    /// The name of a `Name` expression.
    pub fn name(&self, id: ExprId) -> Option<&str> {
        match self.get(id) {
            Expr::Name(name) => Some(name),
            _ => None,
        }
    }

    /// The last identifier of a name or attribute chain (`UserService` in
    /// `services.UserService`).
    pub fn last_name(&self, id: ExprId) -> Option<&str> {
        match self.get(id) {
            Expr::Name(name) | Expr::Attribute(_, name) => Some(name),
            _ => None,
        }
    }

    /// `head` for `head[...]`, else the expression itself.
    pub fn unsubscripted(&self, id: ExprId) -> ExprId {
        match self.get(id) {
            Expr::Subscript(head, _) => head,
            _ => id,
        }
    }

    /// `callee` for `callee(...)`, else the expression itself.
    pub fn uncalled(&self, id: ExprId) -> ExprId {
        match self.get(id) {
            Expr::Call(callee, _) => callee,
            _ => id,
        }
    }

    /// Whether the exported arenas are equal: with equal exported facts, ids then mean the same.
    pub fn same_exported(&self, other: &Exprs) -> bool {
        self.exported == other.exported
    }

    /// Bytes on the heap (for memory reports).
    pub fn heap_bytes(&self) -> usize {
        self.exported.heap_bytes() + self.private.heap_bytes()
    }

    /// Nodes stored, both arenas.
    pub fn node_count(&self) -> usize {
        self.exported.nodes.len() + self.private.nodes.len()
    }

    fn arena_of(&self, id: ExprId) -> (&Arena, usize) {
        match id.split() {
            (false, index) => (&self.exported, index),
            (true, index) => (&self.private, index),
        }
    }
}

/// Builds one arena during extraction.
#[derive(Default)]
pub struct ExprBuilder {
    arena: Arena,
    /// Interned names, by symbol, hashed by their text.
    symbols: HashTable<u32>,
    /// Stored nodes, by index, hashed by their content.
    node_table: HashTable<u32>,
    /// Stored lists, by start, hashed by their members.
    list_table: HashTable<u32>,
    /// [`PRIVATE`] for the private arena, else 0.
    tag: u32,
    /// Members of the lists being built (nested lists stack up here).
    scratch: Vec<ExprId>,
}

fn hash_of<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

fn hash_name(name: &str) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(name.as_bytes());
    hasher.finish()
}

impl ExprBuilder {
    pub fn private() -> ExprBuilder {
        ExprBuilder { tag: PRIVATE, ..ExprBuilder::default() }
    }

    /// Builders sized for a module of `source_len` bytes, so that their tables rarely grow:
    /// modules hold about one distinct exported node per 140 bytes and far fewer private ones.
    pub fn for_source(source_len: usize) -> (ExprBuilder, ExprBuilder) {
        let sized = |builder: ExprBuilder, per_node: usize| {
            let nodes = source_len / per_node;
            let mut arena = builder.arena;
            arena.nodes.reserve(nodes);
            arena.text.reserve(nodes * 2);
            ExprBuilder {
                arena,
                symbols: HashTable::with_capacity(nodes / 2),
                node_table: HashTable::with_capacity(nodes),
                list_table: HashTable::with_capacity(nodes / 4),
                ..builder
            }
        };
        (sized(ExprBuilder::default(), 128), sized(ExprBuilder::private(), 1024))
    }

    /// The finished arenas.
    pub fn finish(exported: ExprBuilder, private: ExprBuilder) -> Exprs {
        let (mut exported, mut private) = (exported.arena, private.arena);
        exported.shrink_to_fit();
        private.shrink_to_fit();
        Exprs { exported, private }
    }

    /// The id of `text` if it was interned here.
    pub fn find_text(&self, text: &str) -> Option<TextId> {
        let arena = &self.arena;
        let found =
            self.symbols.find(hash_name(text), |index| arena.symbol_bytes(Symbol(*index)) == text.as_bytes())?;
        Some(TextId(*found | self.tag))
    }

    /// The bytes of an interned text of this builder.
    pub fn text_bytes(&self, text: TextId) -> &[u8] {
        self.arena.symbol_bytes(Symbol(text.0 & !PRIVATE))
    }

    fn symbol(&mut self, name: &str) -> Symbol {
        let hash = hash_name(name);
        let arena = &self.arena;
        if let Some(found) = self.symbols.find(hash, |index| arena.symbol_bytes(Symbol(*index)) == name.as_bytes()) {
            return Symbol(*found);
        }
        // Below the private bit, which `TextId` sets on top of the index.
        let index = u32::try_from(self.arena.ends.len()).ok().filter(|index| index & PRIVATE == 0);
        let index = index.expect("fewer than 2^31 names per arena");
        self.arena.text.push_str(name);
        self.arena.ends.push(u32::try_from(self.arena.text.len()).expect("names shorter than 4 GiB"));
        let arena = &self.arena;
        self.symbols.insert_unique(hash, index, |index| hash_name(arena.symbol(Symbol(*index))));
        Symbol(index)
    }

    /// The node's id: an equal node stored before is shared (a module writes `str`, `self.x`
    /// or `Optional[int]` many times).
    fn push(&mut self, node: Node) -> ExprId {
        let hash = hash_of(&node);
        let nodes = &self.arena.nodes;
        if let Some(found) = self.node_table.find(hash, |index| nodes[*index as usize] == node) {
            return ExprId::new(*found, self.tag);
        }
        let index = u32::try_from(nodes.len()).expect("fewer than 2^31 nodes per arena");
        let id = ExprId::new(index, self.tag);
        self.arena.nodes.push(node);
        let nodes = &self.arena.nodes;
        self.node_table.insert_unique(hash, index, |index| hash_of(&nodes[*index as usize]));
        id
    }

    /// Stores the members pushed on `scratch` since `mark` as one list (an equal list stored
    /// before is shared).
    fn list_from(&mut self, mark: usize) -> ListId {
        let len = self.scratch.len() - mark;
        if len == 0 {
            return EMPTY_LIST;
        }
        let members = &self.scratch[mark..];
        let hash = hash_of(members);
        let lists = &self.arena.lists;
        if let Some(found) = self.list_table.find(hash, |start| list_at(lists, *start) == members) {
            let found = ListId(*found);
            self.scratch.truncate(mark);
            return found;
        }
        // Below the private bit, which `ExprList` sets on top of the start.
        let start = u32::try_from(self.arena.lists.len()).ok().filter(|start| start & PRIVATE == 0);
        let start = start.expect("fewer than 2^31 list members per arena");
        self.arena.lists.push(ExprId::length(len));
        self.arena.lists.extend(self.scratch.drain(mark..));
        let lists = &self.arena.lists;
        self.list_table.insert_unique(hash, start, |start| hash_of(list_at(lists, *start)));
        ListId(start)
    }

    /// Stores `members` as one list.
    pub fn list(&mut self, members: &[ExprId]) -> ExprList {
        let mark = self.scratch.len();
        self.scratch.extend_from_slice(members);
        ExprList(self.list_from(mark).0 | self.tag)
    }

    /// Interns `text` (any text: names, indentation).
    pub fn intern(&mut self, text: &str) -> TextId {
        TextId(self.symbol(text).0 | self.tag)
    }

    pub fn name(&mut self, name: &str) -> ExprId {
        let symbol = self.symbol(name);
        self.push(Node::Name(symbol))
    }

    /// `name=value`, as a call's keyword argument.
    pub fn keyword(&mut self, name: &str, value: ExprId) -> ExprId {
        let name = self.symbol(name);
        self.push(Node::Keyword(name, value))
    }

    pub fn element(&mut self, made: ExprId, index: u32) -> ExprId {
        self.push(Node::Element(made, index))
    }

    pub fn entered(&mut self, entered: ExprId) -> ExprId {
        self.push(Node::Entered(entered))
    }

    /// The picture of an expression.
    pub fn expr(&mut self, expr: &SyntaxExpr) -> ExprId {
        self.expr_limited(expr, 0, false)
    }

    /// Like [`ExprBuilder::expr`], but a string is parsed as a forward reference
    /// (`-> "AsyncIterator[Session]"`), also inside subscripts and unions.
    pub fn annotation(&mut self, expr: &SyntaxExpr) -> ExprId {
        self.expr_limited(expr, 0, true)
    }

    /// Pushes the pictures of `exprs` on `scratch`.
    fn members<'e>(&mut self, exprs: impl IntoIterator<Item = &'e SyntaxExpr>, depth: u32, annotation: bool) {
        for expr in exprs {
            let member = self.expr_limited(expr, depth, annotation);
            self.scratch.push(member);
        }
    }

    /// A display whose elements are all opaque (`__all__ = ["a", "b"]`) says nothing: it is
    /// kept as [`Expr::Other`] rather than a list of unknowns.
    fn collection<'e>(&mut self, elements: impl IntoIterator<Item = &'e SyntaxExpr>, depth: u32) -> ExprId {
        let mark = self.scratch.len();
        self.members(elements, depth, false);
        let members = &self.scratch[mark..];
        if !members.is_empty() && members.iter().all(|member| *member == ExprId::OTHER) {
            self.scratch.truncate(mark);
            return ExprId::OTHER;
        }
        let list = self.list_from(mark);
        self.push(Node::Collection(list))
    }

    /// In an `annotation`, strings are forward references, parsed; subscripts and unions keep
    /// their members annotations.
    fn expr_limited(&mut self, expr: &SyntaxExpr, depth: u32, annotation: bool) -> ExprId {
        // Deep attribute chains are never protocol-relevant, nor deep annotations; bound the
        // recursion.
        if depth > 32 || (annotation && depth > 8) {
            return ExprId::OTHER;
        }
        match expr {
            SyntaxExpr::StringLiteral(literal) if annotation => {
                match ruff_python_parser::parse_expression(literal.value.to_str()) {
                    Ok(parsed) => self.expr_limited(parsed.expr(), depth + 1, true),
                    Err(_) => ExprId::OTHER,
                }
            }
            SyntaxExpr::Name(name) => self.name(name.id.as_str()),
            SyntaxExpr::Attribute(attribute) => {
                let base = self.expr_limited(&attribute.value, depth + 1, false);
                let name = self.symbol(attribute.attr.as_str());
                self.push(Node::Attribute(base, name))
            }
            SyntaxExpr::Call(call) => {
                let callee = self.expr_limited(&call.func, depth + 1, false);
                let mark = self.scratch.len();
                self.members(call.arguments.args.iter().take(MAX_ARGUMENTS), depth + 1, false);
                for keyword in &call.arguments.keywords {
                    let kept = match &keyword.arg {
                        Some(name) if KEPT_KEYWORDS.contains(&name.as_str()) => {
                            let value = self.expr_limited(&keyword.value, depth + 1, false);
                            self.keyword(name.as_str(), value)
                        }
                        Some(_) => continue,
                        None => self.keyword("**", ExprId::OTHER),
                    };
                    self.scratch.push(kept);
                }
                let arguments = self.list_from(mark);
                self.push(Node::Call(callee, arguments))
            }
            SyntaxExpr::Generator(generator)
                if generator.generators.iter().any(|clause| clause.is_async)
                    || matches!(&*generator.elt, SyntaxExpr::Await(_)) =>
            {
                self.push(Node::AsyncGenerator)
            }
            SyntaxExpr::Await(awaited) => {
                let awaited = self.expr_limited(&awaited.value, depth + 1, false);
                self.push(Node::Await(awaited))
            }
            SyntaxExpr::Subscript(subscript) => {
                let base = self.expr_limited(&subscript.value, depth + 1, false);
                let mark = self.scratch.len();
                match &*subscript.slice {
                    SyntaxExpr::Tuple(tuple) => self.members(&tuple.elts, depth + 1, annotation),
                    slice => self.members([slice], depth + 1, annotation),
                }
                let items = self.list_from(mark);
                self.push(Node::Subscript(base, items))
            }
            SyntaxExpr::BinOp(binary) if binary.op == ast::Operator::BitOr => {
                let mark = self.scratch.len();
                self.members([&*binary.left, &*binary.right], depth + 1, annotation);
                let members = self.list_from(mark);
                self.push(Node::Union(members))
            }
            SyntaxExpr::BoolOp(boolean) if boolean.op == ast::BoolOp::Or => {
                let mark = self.scratch.len();
                self.members(&boolean.values, depth + 1, false);
                let values = self.list_from(mark);
                self.push(Node::Or(values))
            }
            SyntaxExpr::NoneLiteral(_) => ExprId::NONE,
            SyntaxExpr::List(ast::ExprList { elts, .. })
            | SyntaxExpr::Tuple(ast::ExprTuple { elts, .. })
            | SyntaxExpr::Set(ast::ExprSet { elts, .. }) => {
                if elts.len() > MAX_COLLECTION || elts.iter().any(SyntaxExpr::is_starred_expr) {
                    return ExprId::OTHER;
                }
                self.collection(elts, depth + 1)
            }
            SyntaxExpr::Dict(dict) => {
                if dict.items.len() > MAX_COLLECTION || dict.items.iter().any(|item| item.key.is_none()) {
                    return ExprId::OTHER;
                }
                self.collection(dict.items.iter().map(|item| &item.value), depth + 1)
            }
            _ => ExprId::OTHER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(builder: &mut ExprBuilder, source: &str) -> ExprId {
        let parsed = ruff_python_parser::parse_expression(source).expect("valid expression");
        builder.expr(parsed.expr())
    }

    #[test]
    fn shapes_read_back_as_written() {
        let mut exported = ExprBuilder::default();
        let call = build(&mut exported, "factory.make(a, b, class_=Session, other=1, **extra)");
        let subscript = build(&mut exported, "Callable[[A], R] | None");
        let exprs = ExprBuilder::finish(exported, ExprBuilder::private());
        let Expr::Call(callee, arguments) = exprs.get(call) else { panic!("a call") };
        assert!(matches!(exprs.get(callee), Expr::Attribute(base, "make") if exprs.name(base) == Some("factory")));
        assert_eq!(arguments.len(), 4);
        assert_eq!(exprs.name(arguments[1]), Some("b"));
        assert!(
            matches!(exprs.get(arguments[2]), Expr::Keyword("class_", value) if exprs.name(value) == Some("Session"))
        );
        assert!(matches!(exprs.get(arguments[3]), Expr::Keyword("**", ExprId::OTHER)));
        let Expr::Union([head, none]) = exprs.get(subscript) else { panic!("a union") };
        assert_eq!(exprs.get(*none), Expr::NoneLiteral);
        let Expr::Subscript(base, [parameters, result]) = exprs.get(*head) else { panic!("a subscript") };
        assert_eq!(exprs.name(base), Some("Callable"));
        assert!(matches!(exprs.get(*parameters), Expr::Collection([a]) if exprs.name(*a) == Some("A")));
        assert_eq!(exprs.name(*result), Some("R"));
    }

    #[test]
    fn names_are_interned_per_arena() {
        let mut exported = ExprBuilder::default();
        let first = build(&mut exported, "session.session(session)");
        let before = exported.arena.text.len();
        build(&mut exported, "session");
        assert_eq!(exported.arena.text.len(), before, "no new text for a known name");
        assert_eq!(exported.arena.text, "session");
        let exprs = ExprBuilder::finish(exported, ExprBuilder::private());
        let Expr::Call(callee, [argument]) = exprs.get(first) else { panic!("a call") };
        assert_eq!(exprs.last_name(callee), Some("session"));
        assert_eq!(exprs.name(*argument), Some("session"));
    }

    #[test]
    fn equal_expressions_share_nodes_and_lists() {
        let mut exported = ExprBuilder::default();
        let first = build(&mut exported, "Optional[Session]");
        let nodes = exported.arena.nodes.len();
        let lists = exported.arena.lists.len();
        assert_eq!(build(&mut exported, "Optional[Session]"), first);
        assert_eq!((exported.arena.nodes.len(), exported.arena.lists.len()), (nodes, lists));
        let other = build(&mut exported, "Optional[Engine]");
        assert_ne!(other, first);
        let lists = exported.arena.lists.len();
        let list_call = build(&mut exported, "make(Session)");
        assert_eq!(exported.arena.lists.len(), lists, "`[Session]` is stored once, for both");
        let exprs = ExprBuilder::finish(exported, ExprBuilder::private());
        assert!(matches!(exprs.get(other), Expr::Subscript(_, [engine]) if exprs.name(*engine) == Some("Engine")));
        assert!(matches!(exprs.get(list_call), Expr::Call(_, [session]) if exprs.name(*session) == Some("Session")));
    }

    #[test]
    fn lists_and_texts_read_back_from_their_arena() {
        let mut exported = ExprBuilder::default();
        let mut private = ExprBuilder::private();
        let a = build(&mut exported, "a");
        let b = build(&mut private, "b");
        let public = exported.list(&[a, a]);
        let hidden = private.list(&[b]);
        let (empty, private_empty) = (exported.list(&[]), private.list(&[]));
        let (indent, label) = (exported.intern("    "), private.intern("label"));
        let exprs = ExprBuilder::finish(exported, private);
        assert_eq!(exprs.list(public), [a, a]);
        assert_eq!(exprs.list(hidden), [b]);
        assert!(empty.is_empty() && private_empty.is_empty() && !public.is_empty() && !hidden.is_empty());
        assert!(exprs.list(empty).is_empty() && exprs.list(private_empty).is_empty());
        assert_eq!((exprs.text(indent), exprs.text(label)), ("    ", "label"));
    }

    #[test]
    fn private_ids_read_from_the_private_arena() {
        let mut exported = ExprBuilder::default();
        let mut private = ExprBuilder::private();
        let public = build(&mut exported, "a.b");
        let hidden = build(&mut private, "c.d");
        let opaque = build(&mut private, "[1, 2]");
        let exprs = ExprBuilder::finish(exported, private);
        assert!(matches!(exprs.get(public), Expr::Attribute(_, "b")));
        assert!(matches!(exprs.get(hidden), Expr::Attribute(base, "d") if exprs.name(base) == Some("c")));
        assert_eq!(opaque, ExprId::OTHER, "a display of literals says nothing");
        assert_ne!(public, hidden);
    }

    #[test]
    fn equal_exports_build_equal_arenas_whatever_the_private_side_holds() {
        let arenas = |private_source: &str| {
            let mut exported = ExprBuilder::default();
            let mut private = ExprBuilder::private();
            build(&mut exported, "make(x)");
            build(&mut private, private_source);
            build(&mut exported, "y[z]");
            ExprBuilder::finish(exported, private)
        };
        let (one, two) = (arenas("first(call)"), arenas("second.call"));
        assert_eq!(one.exported, two.exported);
        assert_ne!(one, two);
    }

    #[test]
    fn deep_nesting_is_cut_off() {
        let source = format!("{}x{}", "f(".repeat(100), ")".repeat(100));
        let mut exported = ExprBuilder::default();
        let mut id = build(&mut exported, &source);
        let exprs = ExprBuilder::finish(exported, ExprBuilder::private());
        let mut calls = 0;
        while let Expr::Call(_, [argument]) = exprs.get(id) {
            calls += 1;
            id = *argument;
        }
        assert!((10..40).contains(&calls), "{calls} levels kept");
        assert_eq!(exprs.get(id), Expr::Other);
    }
}

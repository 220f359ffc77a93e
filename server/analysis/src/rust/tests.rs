//! Data-driven tests: source in, rendered findings out (`CODE line:column text-of-range`).

use super::{carry_findings, check_rust, disable_for_line};
use crate::{apply_edits, LineIndex, Rule};

fn render(source: &str) -> Vec<String> {
    let lines = LineIndex::new(source);
    check_rust(source)
        .iter()
        .map(|finding| {
            let (row, column) = lines.row_column(source, finding.range.start);
            let text: String = source[finding.range.clone()].split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{} {row}:{column} {text}", finding.rule.code())
        })
        .collect()
}

fn assert_findings(source: &str, expected: &[&str]) {
    assert_eq!(render(source), expected, "source:\n{source}");
}

/// Applies every finding's first fix (what `--fix --unsafe-fixes` applies: every Rust fix is
/// unsafe, since the mistakes compile and run, and correcting one changes what runs); the
/// result must parse.
fn fixed(source: &str) -> String {
    let findings = check_rust(source);
    assert!(findings.iter().all(|finding| finding.preferred_fix().is_none()), "no safe Rust fix: {findings:?}");
    let edits: Vec<_> =
        findings.iter().filter_map(|finding| finding.fixes.first()).flat_map(|fix| fix.edits.iter().cloned()).collect();
    let (text, _) = apply_edits(source, &edits);
    assert!(syn::parse_file(&text).is_ok(), "fixed code must parse:\n{text}");
    proc_macro2::extra::invalidate_current_thread_spans();
    text
}

const STREAM_FNS: &str = "
use futures::stream::BoxStream;
fn sessions() -> impl Stream<Item = u32> { futures::stream::iter(vec![1]) }
fn boxed() -> BoxStream<'static, u32> { todo!() }
fn pinned() -> Pin<Box<dyn Stream<Item = u32> + Send>> { todo!() }
fn by_body() { async_stream::stream! { yield 1; } }
fn unfolded() { futures::stream::unfold(0, |s| async move { None }) }
fn receiver(rx: Receiver<u32>) -> ReceiverStream<u32> { ReceiverStream::new(rx) }
async fn work() -> u32 { 1 }
";

#[test]
fn apm401_stream_bound_like_a_guard() {
    let source = format!(
        "{STREAM_FNS}
async fn handler() {{
    let _session = sessions();
    let _b = boxed();
    let _p = pinned();
    let _c = by_body();
    let _u = unfolded();
    do_work().await;
}}
"
    );
    assert_findings(
        &source,
        &[
            "APM401 12:5 let _session = sessions();",
            "APM401 13:5 let _b = boxed();",
            "APM401 14:5 let _p = pinned();",
            "APM401 15:5 let _c = by_body();",
            "APM401 16:5 let _u = unfolded();",
        ],
    );
}

#[test]
fn apm401_drop_is_not_polling_and_inline_constructors_count() {
    assert_findings(
        "fn f(rx: Receiver<u8>) {\n    let s = ReceiverStream::new(rx);\n    drop(s);\n}\n",
        &["APM401 2:5 let s = ReceiverStream::new(rx);"],
    );
    assert_findings(
        "async fn f() {\n    let _events = stream! { yield 1; };\n}\n",
        &["APM401 2:5 let _events = stream! { yield 1; };"],
    );
}

#[test]
fn apm401_negatives() {
    let source = format!(
        "{STREAM_FNS}
async fn polled() {{
    let mut s = std::pin::pin!(sessions());
    while let Some(x) = s.next().await {{}}
    let t = sessions();
    consume(t).await;
    let v = vec![1].iter();
    let w = other();
    let m = mac!(t2);
    let sync = sessions().collect::<Vec<_>>();
    let iter = [1, 2].into_iter().map(|x| x);
}}
fn other() -> u32 {{ 1 }}
"
    );
    assert_findings(&source, &[]);
}

#[test]
fn apm401_fix_swaps_guard_for_iteration() {
    let source = "fn sessions() -> impl Stream<Item = u32> { todo!() }\nasync fn f() {\n    let _session = sessions();\n    work().await;\n}\n";
    let text = fixed(source);
    assert_eq!(
        text,
        "fn sessions() -> impl Stream<Item = u32> { todo!() }\nasync fn f() {\n    use futures::StreamExt;\n    let mut session_stream = std::pin::pin!(sessions());\n    while let Some(_session) = session_stream.next().await {\n        work().await;\n    }\n}\n"
    );
    assert_findings(&text, &[]);
}

#[test]
fn apm401_fix_reindents_the_moved_block_but_not_string_contents() {
    let source = "fn sessions() -> impl Stream<Item = u32> { todo!() }
async fn f() {
    let _session = sessions();
    if ready() {
        work(\"one
  two\", r#\"raw
line\"#).await;

        // comment
    }
    done();
}
";
    assert_eq!(
        fixed(source),
        "fn sessions() -> impl Stream<Item = u32> { todo!() }
async fn f() {
    use futures::StreamExt;
    let mut session_stream = std::pin::pin!(sessions());
    while let Some(_session) = session_stream.next().await {
        if ready() {
            work(\"one
  two\", r#\"raw
line\"#).await;

            // comment
        }
        done();
    }
}
"
    );
    let tabs = "use futures::StreamExt;\nfn sessions() -> BoxStream<'static, u8> { todo!() }\nasync fn f() {\n\tlet _s = sessions();\n\tif x {\n\t\ty();\n\t}\n\tz();\n}\n";
    assert_eq!(
        fixed(tabs),
        "use futures::StreamExt;\nfn sessions() -> BoxStream<'static, u8> { todo!() }\nasync fn f() {\n\tlet mut s_stream = std::pin::pin!(sessions());\n\twhile let Some(_s) = s_stream.next().await {\n\t\tif x {\n\t\t\ty();\n\t\t}\n\t\tz();\n\t}\n}\n"
    );
}

#[test]
fn apm401_no_fix_outside_async_or_with_a_tail_or_break() {
    let no_fix = |source: &str| {
        let findings = check_rust(source);
        assert_eq!(findings.len(), 1, "{source}");
        assert!(findings[0].fixes.is_empty(), "{source}");
    };
    no_fix("fn s() -> BoxStream<'static, u8> { todo!() }\nfn f() {\n    let _g = s();\n}\n");
    no_fix("fn s() -> BoxStream<'static, u8> { todo!() }\nasync fn f() -> u8 {\n    let _g = s();\n    1\n}\n");
    no_fix("fn s() -> BoxStream<'static, u8> { todo!() }\nasync fn f() {\n    loop {\n        let _g = s();\n        break;\n    }\n}\n");
}

#[test]
fn apm402_discarded_stream() {
    let source = format!(
        "{STREAM_FNS}
async fn handler(rx: Receiver<u32>) {{
    let _ = sessions();
    _ = boxed();
    ReceiverStream::new(rx);
    stream! {{ yield 1; }};
    receiver(rx2);
}}
"
    );
    assert_findings(
        &source,
        &[
            "APM402 12:5 let _ = sessions();",
            "APM402 13:5 _ = boxed();",
            "APM402 14:5 ReceiverStream::new(rx);",
            "APM402 15:5 stream! { yield 1; };",
            "APM402 16:5 receiver(rx2);",
        ],
    );
}

#[test]
fn apm402_negatives() {
    // rustc already warns on `impl Stream` (`#[must_use]`); a tail stream is returned, not dropped.
    let source = format!(
        "{STREAM_FNS}
fn handler() -> impl Stream<Item = u32> {{
    sessions();
    let _ = other();
    stream! {{ yield 1; }}
}}
"
    );
    assert_findings(&source, &[]);
}

#[test]
fn apm403_dropped_guards() {
    let source = "async fn f(m: &Mutex<u8>, rw: &RwLock<u8>, sem: &Semaphore) {
    let _ = m.lock().await;
    let _ = rw.read().await;
    let _ = rw.write().await;
    let _ = sem.acquire().await.unwrap();
    let _ = sem.acquire_many(2).await?;
    _ = self.lock.lock().await;
    let _ = info_span!(\"x\").entered();
    let span = tracing::Span::current();
    let _ = span.enter();
    let _ = self.span.enter();
}
";
    assert_findings(
        source,
        &[
            "APM403 2:5 let _ = m.lock().await;",
            "APM403 3:5 let _ = rw.read().await;",
            "APM403 4:5 let _ = rw.write().await;",
            "APM403 5:5 let _ = sem.acquire().await.unwrap();",
            "APM403 6:5 let _ = sem.acquire_many(2).await?;",
            "APM403 7:5 _ = self.lock.lock().await;",
            "APM403 8:5 let _ = info_span!(\"x\").entered();",
            "APM403 10:5 let _ = span.enter();",
            "APM403 11:5 let _ = self.span.enter();",
        ],
    );
    let text = fixed(source);
    assert!(text.contains("let _guard = m.lock().await;"), "{text}");
    assert!(text.contains("let _guard = self.lock.lock().await;"), "{text}");
    assert_findings(&text, &[]);
}

#[test]
fn apm403_traps() {
    let source = "async fn f(reader: &mut R, file: &mut W, rt: &Runtime, m: &std::sync::Mutex<u8>) {
    let mut buf = [0; 8];
    let _ = reader.read(&mut buf).await;
    let _ = file.write(&buf).await;
    let _ = rt.enter();
    let _ = tokio::spawn(async {});
    let _ = m.lock();
    let _guard = m2.lock().await;
    let _ = cx.enter();
    let _ = sem.acquire_many(2, 3).await;
}
";
    assert_findings(source, &[]);
}

#[test]
fn apm405_unawaited_future_binding() {
    let source = "async fn work() -> u8 { 1 }
struct S;
impl S { async fn refresh(&self) {} }
async fn f(s: S) {
    let f = work();
    drop(f);
    let _pending = s.refresh();
    let _ = work();
    let ok = work();
    ok.await;
    let done = work().await;
}
fn sync_caller() {
    let _f = work();
}
";
    assert_findings(
        source,
        &["APM405 5:13 work()", "APM405 7:20 s.refresh()", "APM405 8:13 work()", "APM405 14:14 work()"],
    );
    let text = fixed(source);
    assert!(text.contains("let f = work().await;") && text.contains("let _ = work().await;"), "{text}");
    assert!(text.contains("let _f = work();"), "no fix outside async code:\n{text}");
}

#[test]
fn suppression_comments() {
    let source = "async fn f(m: &Mutex<u8>) {
    let _ = m.lock().await; // asyncsense: ignore[APM403]
    // asyncsense: ignore[APM401, APM403]
    let _ = m.lock().await;
    // asyncsense: ignore[APM402]
    let _ = m.lock().await;
}
";
    assert_findings(source, &["APM403 6:5 let _ = m.lock().await;"]);
    let edit = disable_for_line(source, Rule::DroppedGuard, 5);
    let (text, _) = apply_edits(source, &[edit]);
    assert!(check_rust(&text).is_empty(), "{text}");
}

#[test]
fn broken_items_are_skipped_and_untokenisable_text_is_empty() {
    let source =
        "async fn broken() { let x = ; }\nasync fn f(m: &Mutex<u8>) {\n    let _ = m.lock().await;\n}\nstruct ;\n";
    assert_findings(source, &["APM403 3:5 let _ = m.lock().await;"]);
    assert!(super::check_rust_parsed("fn f() { ").is_none());
}

#[test]
fn offsets_are_bytes_after_multibyte_text_bom_and_shebang() {
    let source = "\u{feff}#!/usr/bin/env run\n// ünïcødé 🧪\nasync fn f(m: &Mutex<u8>) { let s = \"🧪\"; let _ = m.lock().await; }\n";
    let findings = check_rust(source);
    assert_eq!(findings.len(), 1);
    assert_eq!(&source[findings[0].range.clone()], "let _ = m.lock().await;");
}

#[test]
fn findings_outside_a_broken_edit_are_carried_over() {
    let good = "async fn f(m: &Mutex<u8>) {\n    let _ = m.lock().await;\n}\nasync fn g(m: &Mutex<u8>) {\n    let _ = m.lock().await;\n}\n";
    let findings = check_rust(good);
    assert_eq!(findings.len(), 2);
    // Typing an unclosed `(` in the first function: its finding goes, the second one moves.
    let broken = good.replacen("let _ = m.lock().await;", "let _ = m.lock(().await;", 1);
    assert!(super::check_rust_parsed(&broken).is_none());
    let carried = carry_findings(good, &broken, &findings);
    assert_eq!(carried.len(), 1);
    assert_eq!(&broken[carried[0].range.clone()], "let _ = m.lock().await;");
    let (fixed, applied) = apply_edits(&broken, &carried[0].fixes[0].edits);
    assert_eq!(applied, 1);
    assert!(fixed.ends_with("    let _guard = m.lock().await;\n}\n"), "{fixed}");
}

#[test]
fn apm404_span_guard_across_await() {
    let source = "async fn f() {
    let span = info_span!(\"req\");
    let _enter = span.enter();
    work().await;
}
async fn g(span: Span) {
    let _entered = span.clone().entered();
    tokio::select! { _ = a() => {} }
}
";
    assert_findings(
        source,
        &["APM404 3:5 let _enter = span.enter();", "APM404 7:5 let _entered = span.clone().entered();"],
    );
}

#[test]
fn apm404_negatives() {
    let source = "async fn dropped_first(span: Span) {
    let _enter = span.enter();
    sync_work();
    drop(_enter);
    work().await;
}
async fn nested_future(span: Span) {
    let _enter = span.enter();
    tokio::spawn(async move { work().await });
    let f = || async { work().await };
}
fn not_async(span: Span) {
    let _enter = span.enter();
    block_on(work());
}
async fn not_a_span(rt: Runtime, cx: Cx) {
    let _guard = rt.enter();
    let _c = cx.enter();
    work().await;
}
async fn instrumented(span: Span) {
    async { work().await }.instrument(span).await;
}
";
    assert_findings(source, &[]);
}

#[test]
fn apm406_stream_recreated_in_loop() {
    let source = "fn events() -> BoxStream<'static, u8> { todo!() }
async fn f() {
    while let Some(event) = events().next().await {
        handle(event);
    }
    while let Ok(Some(x)) = events().try_next().await {}
}
";
    assert_findings(source, &["APM406 3:29 events()", "APM406 6:29 events()"]);
    let text = fixed(source);
    assert!(
        text.contains(
            "    let mut stream = std::pin::pin!(events());\n    while let Some(event) = stream.next().await {\n"
        ),
        "{text}"
    );
    assert_findings(&text, &[]);
}

#[test]
fn apm406_negatives() {
    let source = "fn events() -> BoxStream<'static, u8> { todo!() }
async fn f(mut rx: Receiver<u8>, mut s: BoxStream<'static, u8>) {
    let mut stream = std::pin::pin!(events());
    while let Some(event) = stream.next().await {}
    while let Some(x) = rx.recv().await {}
    while let Some(x) = s.next().await {}
    while let Some(x) = make_iter().next() {}
}
";
    assert_findings(source, &[]);
}

/// APM407 is off by default: these tests read every rule's findings.
fn render_all(source: &str) -> Vec<String> {
    let lines = LineIndex::new(source);
    super::check_rust_parsed(source)
        .unwrap_or_default()
        .iter()
        .filter(|finding| finding.rule == Rule::IfLetOnce)
        .map(|finding| {
            let (row, column) = lines.row_column(source, finding.range.start);
            format!("{} {row}:{column} {}", finding.rule.code(), &source[finding.range.clone()])
        })
        .collect()
}

#[test]
fn apm407_if_let_once_in_a_spawned_task() {
    let source = "fn start(mut rx: Receiver<u8>) {
    tokio::spawn(async move {
        if let Some(msg) = rx.recv().await {
            handle(msg);
        }
    });
}
";
    assert_eq!(render_all(source), ["APM407 3:9 if let Some(msg) = rx.recv().await"]);
    assert!(check_rust(source).is_empty(), "off by default");
    let finding = &super::check_rust_parsed(source).unwrap()[0];
    let (text, _) = apply_edits(source, &finding.fixes[0].edits);
    assert!(text.contains("        while let Some(msg) = rx.recv().await {\n"), "{text}");
    assert!(render_all(&text).is_empty());
}

#[test]
fn apm407_negatives() {
    let source = "fn start(mut rx: Receiver<u8>, mut s: S) {
    tokio::spawn(async move {
        loop {
            if let Some(msg) = rx.recv().await { handle(msg); } else { break; }
        }
    });
    tokio::spawn(async move {
        if let Some(msg) = rx.recv().await { handle(msg); } else { log(); }
    });
    tokio::spawn(async move {
        if let Ok(n) = reader.read(&mut buf).await { handle(n); }
    });
    std::thread::spawn(move || {
        if let Some(msg) = rx.blocking_recv() { handle(msg); }
    });
    if let Some(first) = s.next().await {}
}
";
    assert!(render_all(source).is_empty(), "{:?}", render_all(source));
}

/// A throw-away package on disk: `Cargo.toml` plus `files`, all indexed.
struct TempCrate {
    dir: std::path::PathBuf,
    index: super::RustIndex,
}

impl TempCrate {
    fn new(files: &[(&str, &str)]) -> TempCrate {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "asyncsense-rust-crate-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n").unwrap();
        let index = super::RustIndex::new();
        for (relative, source) in files {
            let path = dir.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, source).unwrap();
            index.update(&path, source);
        }
        TempCrate { dir, index }
    }

    /// Findings of `relative` (its text from disk), rendered like `render`.
    fn render(&self, relative: &str) -> Vec<String> {
        let path = self.dir.join(relative);
        let source = std::fs::read_to_string(&path).unwrap();
        let lines = LineIndex::new(&source);
        super::check_rust_parsed_in(&source, Some(&path), &self.index)
            .unwrap()
            .findings
            .iter()
            .map(|finding| {
                let (row, column) = lines.row_column(&source, finding.range.start);
                format!("{} {row}:{column} {}", finding.rule.code(), &source[finding.range.clone()])
            })
            .collect()
    }
}

impl Drop for TempCrate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const STREAMS_MODULE: &str = "use futures::stream::BoxStream;
pub fn sessions() -> BoxStream<'static, u32> { todo!() }
pub async fn connect() -> u32 { 1 }
pub fn plain() -> u32 { 1 }
";

#[test]
fn cross_module_calls_resolve_through_mod_and_use() {
    let krate = TempCrate::new(&[
        (
            "src/lib.rs",
            "mod streams;
use crate::streams::sessions;
use streams::{connect as open, plain};
use crate::streams as feed;
async fn handler() {
    let _a = sessions();
    let _g = feed::sessions();
    let _b = streams::sessions();
    let _c = crate::streams::sessions();
    let _d = self::streams::sessions();
    let _e = open();
    let _f = plain();
    _ = streams::sessions();
    while let Some(x) = crate::streams::sessions().next().await {}
}
",
        ),
        ("src/streams.rs", STREAMS_MODULE),
    ]);
    assert_eq!(
        krate.render("src/lib.rs"),
        [
            "APM401 6:5 let _a = sessions();",
            "APM401 7:5 let _g = feed::sessions();",
            "APM401 8:5 let _b = streams::sessions();",
            "APM401 9:5 let _c = crate::streams::sessions();",
            "APM401 10:5 let _d = self::streams::sessions();",
            "APM405 11:14 open()",
            "APM402 13:5 _ = streams::sessions();",
            "APM406 14:25 crate::streams::sessions()",
        ]
    );
}

#[test]
fn cross_module_super_nested_modules_reexports_and_inline_modules() {
    let krate = TempCrate::new(&[
        ("src/lib.rs", "pub mod net;\npub use net::feed::sessions as all_sessions;\n"),
        ("src/net/mod.rs", "pub mod feed;\npub mod client;\n"),
        ("src/net/feed.rs", STREAMS_MODULE),
        (
            "src/net/client.rs",
            "use crate::all_sessions;
mod inner {
    pub fn events() -> impl futures::Stream<Item = u8> { futures::stream::iter(vec![1]) }
}
async fn run() {
    let _a = super::feed::sessions();
    let _b = all_sessions();
    let _c = inner::events();
    let _d = super::super::net::feed::sessions();
}
mod deeper {
    async fn run() {
        let _e = super::inner::events();
        let _f = crate::net::feed::sessions();
    }
}
",
        ),
    ]);
    assert_eq!(
        krate.render("src/net/client.rs"),
        [
            "APM401 6:5 let _a = super::feed::sessions();",
            "APM401 7:5 let _b = all_sessions();",
            "APM401 8:5 let _c = inner::events();",
            "APM401 9:5 let _d = super::super::net::feed::sessions();",
            "APM401 13:9 let _e = super::inner::events();",
            "APM401 14:9 let _f = crate::net::feed::sessions();",
        ]
    );
}

#[test]
fn cross_module_negatives_unresolved_ambiguous_and_shadowed() {
    let krate = TempCrate::new(&[
        (
            "src/lib.rs",
            "mod streams;
mod other;
mod undeclared_elsewhere;
use crate::streams::sessions;
use crate::streams::missing;
use crate::other::sessions as other_sessions;
use external::feed::sessions as external_sessions;
use crate::streams::*;
async fn handler() {
    let _a = missing();
    let _b = other_sessions();
    let _c = external_sessions();
    let _d = streams::plain();
    let _e = nowhere::sessions();
    let _f = crate::nowhere::sessions();
    let _g = super::sessions();
    let _h = undeclared_elsewhere::sessions();
    let _i = not_imported();
}
",
        ),
        ("src/streams.rs", STREAMS_MODULE),
        // Same name, not a stream, in another module.
        ("src/other.rs", "pub fn sessions() -> u32 { 1 }\n"),
        // Two files claim the same module: ambiguous.
        ("src/undeclared_elsewhere.rs", STREAMS_MODULE),
        ("src/undeclared_elsewhere/mod.rs", "pub fn sessions() -> u32 { 1 }\n"),
        // A file whose own function shadows the imported name.
        (
            "src/shadow.rs",
            "use crate::streams::sessions;
async fn handler() {
    fn sessions() -> u32 { 1 }
    let _a = sessions();
}
",
        ),
        // A `use` inside a function body may shadow the module-level import.
        (
            "src/scoped.rs",
            "use crate::streams::sessions;
async fn handler() {
    use crate::other::sessions;
    let _a = sessions();
}
",
        ),
        // So may a parameter or a local variable holding a closure.
        (
            "src/bound.rs",
            "use crate::streams::sessions;
async fn handler(sessions: impl Fn() -> u32) {
    let _a = sessions();
}
",
        ),
        (
            "src/closure.rs",
            "use crate::streams::sessions;
async fn handler() {
    let sessions = || 1;
    let _a = sessions();
}
",
        ),
    ]);
    assert_eq!(krate.render("src/lib.rs"), Vec::<String>::new());
    assert_eq!(krate.render("src/shadow.rs"), Vec::<String>::new());
    assert_eq!(krate.render("src/scoped.rs"), Vec::<String>::new());
    assert_eq!(krate.render("src/bound.rs"), Vec::<String>::new());
    assert_eq!(krate.render("src/closure.rs"), Vec::<String>::new());
}

#[test]
fn cross_module_binaries_and_the_index_follows_updates() {
    let krate = TempCrate::new(&[
        ("src/lib.rs", "pub fn sessions() -> u32 { 1 }\n"),
        ("src/main.rs", "mod feed;\nuse feed::sessions;\nasync fn main() {\n    let _s = sessions();\n}\n"),
        ("src/feed.rs", STREAMS_MODULE),
        ("src/bin/tool.rs", "use crate::sessions;\nasync fn main() {\n    let _s = sessions();\n}\n"),
    ]);
    // `main.rs` declares `feed`; the binary in `src/bin` is a crate of its own without `sessions`.
    assert_eq!(krate.render("src/main.rs"), ["APM401 4:5 let _s = sessions();"]);
    assert_eq!(krate.render("src/bin/tool.rs"), Vec::<String>::new());
    // The definition stops being a stream: the caller's finding goes.
    let feed = krate.dir.join("src/feed.rs");
    assert!(krate.index.update(&feed, "pub fn sessions() -> u32 { 1 }\n"));
    assert!(!krate.index.update(&feed, "pub fn sessions() -> u32 { 1 }\n"), "same summary, no change");
    assert_eq!(krate.render("src/main.rs"), Vec::<String>::new());
    assert!(krate.index.update(&feed, STREAMS_MODULE));
    assert_eq!(krate.render("src/main.rs").len(), 1);
    assert!(krate.index.remove(&feed));
    assert_eq!(krate.render("src/main.rs"), Vec::<String>::new());
}

#[test]
fn cross_module_packages_load_lazily_from_disk() {
    let krate = TempCrate::new(&[]);
    let write = |relative: &str, text: &str| {
        let path = krate.dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("src/lib.rs", "mod streams;\nuse streams::sessions;\nasync fn f() {\n    let _s = sessions();\n}\n");
    write("src/streams.rs", STREAMS_MODULE);
    write("target/debug/build/generated.rs", "pub fn sessions() -> u32 { 1 }\n");
    assert_eq!(krate.render("src/lib.rs"), Vec::<String>::new(), "nothing indexed yet");
    krate.index.load_package_of(&krate.dir.join("src/lib.rs"));
    assert_eq!(krate.index.len(), 2, "target/ is skipped");
    assert_eq!(krate.render("src/lib.rs"), ["APM401 4:5 let _s = sessions();"]);
    // An editor's text replaces the disk's; once closed, the disk's text comes back lazily.
    let streams = krate.dir.join("src/streams.rs");
    krate.index.update(&streams, "pub fn sessions() -> u32 { 1 }\n");
    assert_eq!(krate.render("src/lib.rs"), Vec::<String>::new());
    krate.index.reload_later(&streams);
    assert_eq!(krate.index.len(), 1);
    krate.index.load_package_of(&krate.dir.join("src/lib.rs"));
    assert_eq!(krate.render("src/lib.rs"), ["APM401 4:5 let _s = sessions();"]);
}

#[test]
fn findings_of_items_that_stop_parsing_are_kept_from_the_last_good_version() {
    let good = "async fn f(m: &Mutex<u8>) {
    let _ = m.lock().await;
    work();
    let _ = m.lock().await;
}
async fn g(m: &Mutex<u8>) {
    let _ = m.lock().await;
}
";
    let last = check_rust(good);
    assert_eq!(last.len(), 3);
    // Typing `let x = ;` in the middle of `f`: it tokenises, but `f` no longer parses.
    let broken = good.replacen("    work();\n", "    let x = ;\n", 1);
    let check = super::check_rust_parsed_in(&broken, None, &super::RustIndex::new()).unwrap();
    assert_eq!(check.skipped.len(), 1);
    assert!(
        broken[check.skipped[0].clone()].starts_with("async fn f(") && broken[check.skipped[0].clone()].ends_with('}')
    );
    assert_eq!(check.findings.len(), 1, "only `g` was checked");
    let kept = check.with_last_good(good, &last, &broken);
    let texts: Vec<(usize, &str)> = kept
        .iter()
        .map(|finding| {
            (LineIndex::new(&broken).row_column(&broken, finding.range.start).0, &broken[finding.range.clone()])
        })
        .collect();
    assert_eq!(texts, [(2, "let _ = m.lock().await;"), (4, "let _ = m.lock().await;"), (7, "let _ = m.lock().await;")]);
    // An edit that touches a finding drops only that one.
    let touching = good.replacen("m.lock().await;", "m.lock().await.;", 1);
    let check = super::check_rust_parsed_in(&touching, None, &super::RustIndex::new()).unwrap();
    assert_eq!(check.skipped.len(), 1, "{touching}");
    let kept = check.with_last_good(good, &last, &touching);
    assert_eq!(kept.len(), 2, "{kept:?}");
    // Without skipped items the fresh findings are the answer.
    let clean = super::check_rust_parsed_in(good, None, &super::RustIndex::new()).unwrap();
    assert_eq!(clean.with_last_good(good, &last, good).len(), 3);
}

/// Applies the first fix (safe or not) of every finding of `rule`; the result must parse.
fn fixed_with_first(source: &str, rule: Rule) -> String {
    let edits: Vec<_> = check_rust(source)
        .iter()
        .filter(|finding| finding.rule == rule)
        .filter_map(|finding| finding.fixes.first())
        .flat_map(|fix| fix.edits.iter().cloned())
        .collect();
    let (text, _) = apply_edits(source, &edits);
    assert!(syn::parse_file(&text).is_ok(), "fixed code must parse:\n{text}");
    proc_macro2::extra::invalidate_current_thread_spans();
    text
}

#[test]
fn apm404_fix_instruments_the_rest_of_the_block() {
    let source = "async fn f() {
    let span = info_span!(\"req\");
    let _enter = span.enter();
    work().await;
    loop {
        if more().await {
            break;
        }
    }
    done();
}
";
    let findings = check_rust(source);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].fixes[0].applicability, crate::Applicability::Unsafe);
    assert!(findings[0].preferred_fix().is_none(), "never applied by fix-all");
    let text = fixed_with_first(source, Rule::SpanGuardAcrossAwait);
    assert_eq!(
        text,
        "async fn f() {
    let span = info_span!(\"req\");
    use tracing::Instrument;
    async {
        work().await;
        loop {
            if more().await {
                break;
            }
        }
        done();
    }
    .instrument(span.clone())
    .await;
}
"
    );
    assert_findings(&text, &[]);
}

#[test]
fn apm404_fix_keeps_the_tail_value_and_takes_an_owned_span_as_is() {
    let source = "use tracing::Instrument;
async fn f(this: &S) -> u8 {
    let _e = info_span!(\"x\").entered();
    let v = work().await;
    v + 1
}
async fn g(this: &S) {
    let _e = this.span.enter();
    work().await;
}
";
    let text = fixed_with_first(source, Rule::SpanGuardAcrossAwait);
    assert_eq!(
        text,
        "use tracing::Instrument;
async fn f(this: &S) -> u8 {
    async {
        let v = work().await;
        v + 1
    }
    .instrument(info_span!(\"x\"))
    .await
}
async fn g(this: &S) {
    async {
        work().await;
    }
    .instrument(this.span.clone())
    .await;
}
"
    );
}

#[test]
fn apm404_no_fix_when_the_moved_code_leaves_early_or_names_the_guard() {
    let no_fix = |source: &str| {
        let findings = check_rust(source);
        assert_eq!(findings.len(), 1, "{source}");
        assert_eq!(findings[0].rule, Rule::SpanGuardAcrossAwait);
        assert!(findings[0].fixes.is_empty(), "{source}");
    };
    no_fix(
        "async fn f(span: Span) -> Result<(), E> {\n    let _e = span.enter();\n    work().await?;\n    Ok(())\n}\n",
    );
    no_fix("async fn f(span: Span) {\n    let _e = span.enter();\n    work().await;\n    drop(_e);\n}\n");
    no_fix("async fn f(span: Span) {\n    let _e = span.enter();\n    if work().await {\n        return;\n    }\n}\n");
    no_fix("async fn f(span: Span) {\n    loop {\n        let _e = span.enter();\n        work().await;\n        break;\n    }\n}\n");
    no_fix("async fn f(span: Span) {\n    'outer: loop {\n        let _e = span.enter();\n        loop { work().await; break 'outer; }\n    }\n}\n");
    no_fix("async fn f(span: Span) {\n    let _e = span.enter();\n    work().await;\n    bail!(\"x\" ?);\n}\n");
}

/// The APM401 and APM404 fixes on many block shapes: the fixed text must parse and no longer
/// report the fixed rule.
#[test]
fn moving_fixes_parse_on_many_block_shapes() {
    let statements = [
        "work().await;",
        "let x = \"multi\nline\";",
        "if a { b().await; } else { c(); }",
        "match v {\n    1 => one(),\n    _ => {}\n}",
        "// a comment\nlog(\"x\");",
        "let f = || async { g().await };",
        "for i in 0..3 {\n    if i == 1 { continue; }\n    step(i).await;\n}",
        "println!(\"{}\", r#\"raw \" text\"#);",
        "let s = S {\n    a: 1,\n};",
        "async { inner().await }.await;",
    ];
    for first in &statements {
        for second in &statements {
            let rest = format!("{first}\n{second}\n").replace('\n', "\n        ");
            let stream_case = format!(
                "fn sessions() -> BoxStream<'static, u8> {{ todo!() }}\nimpl S {{\n    async fn f(&self) {{\n        let _s = sessions();\n        {rest}done();\n    }}\n}}\n"
            );
            let text = fixed_with_first(&stream_case, Rule::StreamAsGuard);
            assert!(text.contains("while let Some(_s)"), "{text}");
            assert!(check_rust(&text).iter().all(|finding| finding.rule != Rule::StreamAsGuard), "{text}");
            let span_case = format!(
                "impl S {{\n    async fn f(&self) {{\n        let _e = self.span.enter();\n        fetch().await;\n        {rest}done();\n    }}\n}}\n"
            );
            let text = fixed_with_first(&span_case, Rule::SpanGuardAcrossAwait);
            assert!(text.contains(".instrument(self.span.clone())"), "{text}");
            assert!(check_rust(&text).iter().all(|finding| finding.rule != Rule::SpanGuardAcrossAwait), "{text}");
        }
    }
}

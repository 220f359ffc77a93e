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

/// Applies every finding's preferred fix; the result must parse and be clean of those rules.
fn fixed(source: &str) -> String {
    let edits: Vec<_> = check_rust(source)
        .iter()
        .filter_map(|finding| finding.preferred_fix())
        .flat_map(|fix| fix.edits.iter().cloned())
        .collect();
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
        "fn sessions() -> impl Stream<Item = u32> { todo!() }\nasync fn f() {\n    use futures::StreamExt;\n    let mut session_stream = std::pin::pin!(sessions());\n    while let Some(_session) = session_stream.next().await {\n    work().await;\n    }\n}\n"
    );
    assert_findings(&text, &[]);
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

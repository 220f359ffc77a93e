//! Panic isolation: a bug in one handler answers an error for that request and the server
//! keeps serving (tower-lsp polls handler futures inside its main loop, where an unwinding
//! panic would end the process).

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that turns a panic while polling `inner` into `Err(message)`.
pub struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(&*payload))),
        }
    }
}

pub fn catch_unwind_future<F: Future>(inner: F) -> CatchUnwind<F> {
    CatchUnwind { inner: Box::pin(inner) }
}

pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// Runs a request handler; a panic becomes an internal error response.
pub async fn request<T, F>(method: &str, handler: F) -> tower_lsp_server::jsonrpc::Result<T>
where
    F: Future<Output = tower_lsp_server::jsonrpc::Result<T>>,
{
    match catch_unwind_future(handler).await {
        Ok(result) => result,
        Err(message) => {
            tracing::error!("{method} panicked: {message}");
            Err(tower_lsp_server::jsonrpc::Error {
                code: tower_lsp_server::jsonrpc::ErrorCode::InternalError,
                message: format!("asyncsense: internal error in {method}: {message}").into(),
                data: None,
            })
        }
    }
}

/// Runs a notification handler; a panic is logged.
pub async fn notification<F: Future<Output = ()>>(method: &str, handler: F) {
    if let Err(message) = catch_unwind_future(handler).await {
        tracing::error!("{method} panicked: {message}");
    }
}

//! Promise-returning calls: the work runs on the libuv thread pool (an N-API async work item),
//! the result is turned into JavaScript values back on the JavaScript thread.

use crate::error::{guard, Failure, Result};
use napi::bindgen_prelude::{AsyncTask, Env, ToNapiValue, Unknown};
use napi::ScopedTask;

/// What a job's result becomes in JavaScript.
pub trait IntoJs: Send + 'static {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>>;
}

impl IntoJs for () {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>> {
        ().into_unknown(env)
    }
}

impl IntoJs for bool {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>> {
        self.into_unknown(env)
    }
}

type Work<T> = Box<dyn FnOnce() -> Result<T> + Send>;

/// One call's work, run off the event loop.
pub struct Job<T: IntoJs> {
    work: Option<Work<T>>,
}

impl<T: IntoJs> Job<T> {
    pub fn new(work: impl FnOnce() -> Result<T> + Send + 'static) -> Self {
        Self {
            work: Some(Box::new(work)),
        }
    }
}

/// Run `work` on the libuv thread pool. A failure to prepare it (a bad argument, a closed
/// database) rejects the Promise rather than throwing, as an `async` function would.
pub fn spawn<T, W>(work: Result<W>) -> AsyncTask<Job<T>>
where
    T: IntoJs,
    W: FnOnce() -> Result<T> + Send + 'static,
{
    AsyncTask::new(match work {
        Ok(work) => Job::new(work),
        Err(failure) => Job::new(move || Err(failure)),
    })
}

impl<'task, T: IntoJs> ScopedTask<'task> for Job<T> {
    type Output = Result<T>;
    type JsValue = Unknown<'task>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let work = self.work.take();
        Ok(guard(move || match work {
            Some(work) => work(),
            None => Err(Failure::new(
                crate::error::Code::Internal,
                "internal error: a job ran twice",
            )),
        }))
    }

    fn resolve(&mut self, env: &'task Env, output: Self::Output) -> napi::Result<Unknown<'task>> {
        match output {
            Ok(value) => value.into_js(env),
            // Rejecting with a JavaScript error object built here keeps its `code`.
            Err(failure) => Err(napi::Error::from(failure.to_js(env))),
        }
    }
}

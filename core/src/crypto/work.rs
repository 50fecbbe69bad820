//! The dear crypto a request made: KDF runs, RSA verifications, RSA key generations.
//!
//! Tests hold routes to these counts (TEST_HOOKS headers; docs/performance.md), so they
//! must be exact per request even when one isolate serves many requests at once. The
//! operations themselves are synchronous and count into per-thread cells; a request's
//! future wrapped in [`counted`] moves whatever was counted during each of its own
//! polls into its own tally. One isolate runs one poll at a time, so nothing another
//! request computes between this request's polls lands in this request's count.

use crate::crypto::{password, rsa_keys};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CryptoWork {
    pub kdf_runs: u32,
    pub rsa_verifications: u32,
    pub rsa_generations: u32,
}

impl CryptoWork {
    /// Everything counted on this thread since the last take, and the cells reset.
    fn take() -> CryptoWork {
        CryptoWork {
            kdf_runs: password::take_kdf_runs(),
            rsa_verifications: rsa_keys::take_verifications(),
            rsa_generations: rsa_keys::take_generations(),
        }
    }

    fn add(&mut self, other: CryptoWork) {
        self.kdf_runs += other.kdf_runs;
        self.rsa_verifications += other.rsa_verifications;
        self.rsa_generations += other.rsa_generations;
    }
}

/// `future`, also answering the crypto work done while it was polled.
pub fn counted<F: Future>(future: F) -> Counted<F> {
    Counted {
        inner: Box::pin(future),
        work: CryptoWork::default(),
    }
}

pub struct Counted<F> {
    inner: Pin<Box<F>>,
    work: CryptoWork,
}

impl<F: Future> Future for Counted<F> {
    type Output = (F::Output, CryptoWork);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Counted outside any request's poll (e.g. a scheduled run): no request's.
        CryptoWork::take();
        let polled = self.inner.as_mut().poll(cx);
        let during = CryptoWork::take();
        self.work.add(during);
        polled.map(|output| (output, self.work))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rsa_keys::PrivateKey;
    use std::task::{Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    /// Yields once, so two requests interleave as they do on one isolate.
    struct YieldOnce(bool);
    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    fn interleaved_requests_each_count_only_their_own_work() {
        let key = PrivateKey::generate(2048).unwrap();
        let public = key.public_key();
        let signature = key.sign(b"m");
        // One verification before yielding and two after; the other: one, then none.
        let three = counted(async {
            public.verify(b"m", &signature);
            YieldOnce(false).await;
            public.verify(b"m", &signature);
            public.verify(b"x", &signature);
        });
        let one = counted(async {
            public.verify(b"m", &signature);
            YieldOnce(false).await;
        });
        let waker = Waker::from(std::sync::Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let (mut three, mut one) = (Box::pin(three), Box::pin(one));
        // Work outside either request, between their polls, belongs to neither.
        public.verify(b"m", &signature);
        assert!(three.as_mut().poll(&mut cx).is_pending());
        assert!(one.as_mut().poll(&mut cx).is_pending());
        public.verify(b"m", &signature);
        let Poll::Ready(((), three)) = three.as_mut().poll(&mut cx) else {
            panic!("the first request finishes on its second poll")
        };
        let Poll::Ready(((), one)) = one.as_mut().poll(&mut cx) else {
            panic!("the second request finishes on its second poll")
        };
        assert_eq!(three.rsa_verifications, 3);
        assert_eq!(one.rsa_verifications, 1);
        assert_eq!((three.kdf_runs, three.rsa_generations), (0, 0));
    }
}

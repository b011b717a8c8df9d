//! A TCP proxy the tests put between the gateway and PostgreSQL or Redis, to take the service away and bring it
//! back without touching the shared server other tests use. `cut` closes every open connection and refuses new
//! ones (accepted and dropped at once, as a restarting server does); `restore` lets them through again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

pub struct FaultProxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: Arc<std::sync::Mutex<CancellationToken>>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let generation = Arc::new(std::sync::Mutex::new(CancellationToken::new()));
        let accept = tokio::spawn({
            let up = up.clone();
            let generation = generation.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let cut = generation.lock().unwrap().clone();
                    tokio::spawn(pipe(client, target, cut));
                }
            }
        });
        FaultProxy {
            addr,
            up,
            generation,
            accept,
        }
    }

    /// The service goes away: open connections are closed, new ones refused.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        let mut current = self.generation.lock().unwrap();
        current.cancel();
        *current = CancellationToken::new();
    }

    /// The service is back.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.generation.lock().unwrap().cancel();
    }
}

async fn pipe(mut client: TcpStream, target: SocketAddr, cut: CancellationToken) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        () = cut.cancelled() => {}
    }
}

//! Mail the server sends (sign-up codes): over SMTP, or into the log for demos and tests. Sent in the
//! background, so an answer never waits for (or tells anything by) the mail server.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where mail goes.
pub enum Mailer {
    /// No mail channel: what needs one (sign-up) is closed.
    Off,
    /// Into the server's log, codes and all (demos and tests only).
    Log,
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
}

/// Never prints the SMTP URL's credentials.
impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mailer::Off => "Mailer::Off",
            Mailer::Log => "Mailer::Log",
            Mailer::Smtp { .. } => "Mailer::Smtp",
        })
    }
}

impl Mailer {
    /// The mailer `mail_url` names: `smtp://`, `smtps://`, `log`, or none.
    pub fn from_settings(url: Option<&str>, from: &str) -> anyhow::Result<Mailer> {
        let from: Mailbox = from.parse().map_err(|e| anyhow::anyhow!("mail_from {from:?}: {e}"))?;
        match url {
            None => Ok(Mailer::Off),
            Some("log") => {
                tracing::warn!("mail goes into the log, sign-up codes included (demos and tests only)");
                Ok(Mailer::Log)
            }
            Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("mail_url: {e}"))?
                    .build();
                Ok(Mailer::Smtp { transport: Box::new(transport), from })
            }
            Some(_) => anyhow::bail!("mail_url must be smtp://..., smtps://... or log"),
        }
    }

    pub fn is_off(&self) -> bool {
        matches!(self, Mailer::Off)
    }

    /// Sends a plain-text mail; failures are logged (the caller has answered already).
    pub async fn send(&self, to: &str, subject: &str, body: &str) {
        let sent = match self {
            Mailer::Off => return,
            Mailer::Log => {
                tracing::info!(to, subject, body, "mail");
                return;
            }
            Mailer::Smtp { transport, from } => {
                async {
                    let message = Message::builder()
                        .from(from.clone())
                        .to(to.parse()?)
                        .subject(subject)
                        .body(body.to_owned())?;
                    transport.send(message).await?;
                    anyhow::Ok(())
                }
                .await
            }
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "mail could not be sent");
        }
    }
}

/// An SMTP server on loopback that keeps what it receives: the far end of the wire in tests (no mail
/// service can exist here). Speaks enough SMTP for one client at a time; on its own threads, so it
/// outlives any test's runtime.
pub mod catcher {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// One received mail: its recipients and its raw text (headers and body).
    #[derive(Debug, Clone)]
    pub struct Caught {
        pub to: Vec<String>,
        pub text: String,
    }

    impl Caught {
        /// The sign-up code in it, if it is a sign-up mail.
        pub fn code(&self) -> Option<String> {
            let after = self.text.split_once("Your code: ")?.1;
            Some(after.chars().take_while(char::is_ascii_digit).collect())
        }
    }

    #[derive(Debug, Clone)]
    pub struct Catcher {
        pub port: u16,
        inbox: Arc<Mutex<Vec<Caught>>>,
    }

    impl Catcher {
        pub fn start() -> Catcher {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind the mail catcher");
            let port = listener.local_addr().expect("its address").port();
            let inbox = Arc::new(Mutex::new(Vec::new()));
            let kept = inbox.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let kept = kept.clone();
                    std::thread::spawn(move || {
                        let _ = session(stream, &kept);
                    });
                }
            });
            Catcher { port, inbox }
        }

        /// `mail_url` for the server.
        pub fn url(&self) -> String {
            format!("smtp://127.0.0.1:{}", self.port)
        }

        /// Every mail sent to `address` so far, oldest first.
        pub fn to(&self, address: &str) -> Vec<Caught> {
            let inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
            inbox.iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address))).cloned().collect()
        }

        /// Waits (up to 10 s) for the `n`th mail to `address`.
        pub fn wait_for(&self, address: &str, n: usize) -> Caught {
            for _ in 0..200 {
                if let Some(m) = self.to(address).get(n - 1) {
                    return m.clone();
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            panic!("no mail number {n} to {address} within 10 s");
        }
    }

    fn session(stream: std::net::TcpStream, inbox: &Mutex<Vec<Caught>>) -> std::io::Result<()> {
        let mut out = stream.try_clone()?;
        let mut lines = BufReader::new(stream);
        write!(out, "220 catcher ESMTP\r\n")?;
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                write!(out, "250-catcher\r\n250 8BITMIME\r\n")?;
            } else if upper.starts_with("RCPT TO:") {
                to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
                write!(out, "250 OK\r\n")?;
            } else if upper.starts_with("DATA") {
                write!(out, "354 go ahead\r\n")?;
                let mut text = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line)? == 0 || line == ".\r\n" {
                        break;
                    }
                    text.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let mail = Caught { to: std::mem::take(&mut to), text };
                inbox.lock().unwrap_or_else(|p| p.into_inner()).push(mail);
                write!(out, "250 OK\r\n")?;
            } else if upper.starts_with("QUIT") {
                write!(out, "221 bye\r\n")?;
                return Ok(());
            } else {
                write!(out, "250 OK\r\n")?;
            }
        }
    }
}

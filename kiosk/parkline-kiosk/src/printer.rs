//! Entry tickets on an ESC/POS receipt printer over TCP (port 9100, the "raw" port every network
//! receipt printer speaks): the facility, time, spot and the ticket's QR code, then a cut.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::Error;

/// What a printed ticket says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub facility: String,
    pub ticket: String,
    /// What the QR code encodes.
    pub qr: String,
    /// Local date and time of entry.
    pub entered: String,
    pub spot: Option<String>,
    /// Printed when the lane issued it while offline.
    pub offline: bool,
}

/// The ESC/POS bytes of a ticket.
pub fn escpos(t: &Ticket) -> Vec<u8> {
    let mut out = vec![0x1B, 0x40, 0x1B, 0x61, 0x01]; // initialise; centre
    let mut line = |text: &str| {
        // Printers print ASCII; anything else becomes '?'.
        out.extend(text.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c as u8 } else { b'?' }));
        out.push(b'\n');
    };
    line(&t.facility);
    line(&format!("Ticket {}", t.ticket));
    line(&t.entered);
    if let Some(spot) = &t.spot {
        line(&format!("Spot {spot}"));
    }
    if t.offline {
        line("Issued offline");
    }
    // QR code: model 2, module size 6, error correction M, store the data, print it.
    out.extend([0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00]);
    out.extend([0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x06]);
    out.extend([0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31]);
    let data = t.qr.as_bytes();
    let len = (data.len() + 3).min(u16::MAX as usize) as u16;
    out.extend([0x1D, 0x28, 0x6B, (len & 0xFF) as u8, (len >> 8) as u8, 0x31, 0x50, 0x30]);
    out.extend(&data[..usize::from(len) - 3]);
    out.extend([0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]);
    out.extend(b"\nKeep this ticket to leave.\n\n\n");
    out.extend([0x1D, 0x56, 0x42, 0x00]); // feed and cut
    out
}

/// Sends a ticket to the printer at `address` (`host:port`).
pub async fn print(address: &str, ticket: &Ticket) -> Result<(), Error> {
    let fail = |e: std::io::Error| Error::Printer(format!("{address}: {e}"));
    let send = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.map_err(fail)?;
        stream.write_all(&escpos(ticket)).await.map_err(fail)?;
        stream.shutdown().await.map_err(fail)
    };
    tokio::time::timeout(Duration::from_secs(3), send)
        .await
        .map_err(|_| Error::Printer(format!("{address}: no answer")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn a_ticket_reaches_the_printer_with_its_qr_code_and_a_cut() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let printer = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut bytes = Vec::new();
            socket.read_to_end(&mut bytes).await.unwrap();
            bytes
        });
        let ticket = Ticket {
            facility: "Waterfront Lot".into(),
            ticket: "ACDE34".into(),
            qr: "PARKLINE1:waterfront-lot:ACDE34".into(),
            entered: "2026-11-24 08:15".into(),
            spot: Some("G-012".into()),
            offline: true,
        };
        print(&address, &ticket).await.unwrap();
        let bytes = printer.await.unwrap();
        let find = |needle: &[u8]| bytes.windows(needle.len()).position(|w| w == needle);
        let store = find(&[0x1D, 0x28, 0x6B, 34, 0x00, 0x31, 0x50, 0x30]).expect("QR store command");
        assert_eq!(&bytes[store + 8..store + 8 + 31], ticket.qr.as_bytes());
        assert!(find(b"Spot G-012").is_some() && find(b"Issued offline").is_some());
        assert!(bytes.ends_with(&[0x1D, 0x56, 0x42, 0x00]), "ends with a cut");
    }
}

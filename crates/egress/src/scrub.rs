//! Replacing real secrets with their placeholders in what upstreams send back, so an upstream
//! that echoes a key (an error message, a gateway's debug header) does not hand it to the
//! sandbox. Streaming: a chunk is passed on at once, except for a tail that could be the start
//! of a secret split across chunks (SSE events end in "\n\n", which starts no key).

/// Scrubs one response body.
#[derive(Debug, Default)]
pub(crate) struct Scrubber {
    /// (secret, placeholder), longest secret first; secrets shorter than 8 bytes are ignored.
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    held: Vec<u8>,
}

impl Scrubber {
    pub(crate) fn new(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        let pairs = pairs.into_iter().filter(|(s, _)| s.len() >= 8).collect();
        Self { pairs, held: Vec::new() }
    }

    pub(crate) fn is_noop(&self) -> bool {
        self.pairs.is_empty()
    }

    /// What may be sent of `chunk` now.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.held);
        buf.extend_from_slice(chunk);
        let mut out = self.replace_all(buf);
        let keep = self.partial_tail(&out);
        self.held = out.split_off(out.len() - keep);
        out
    }

    /// Whatever was held back, at the end of the body.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.held)
    }

    fn replace_all(&self, mut buf: Vec<u8>) -> Vec<u8> {
        for (secret, placeholder) in &self.pairs {
            if find(&buf, secret).is_none() {
                continue;
            }
            let mut out = Vec::with_capacity(buf.len());
            let mut rest = &buf[..];
            while let Some(at) = find(rest, secret) {
                out.extend_from_slice(&rest[..at]);
                out.extend_from_slice(placeholder);
                rest = &rest[at + secret.len()..];
            }
            out.extend_from_slice(rest);
            buf = out;
        }
        buf
    }

    /// Length of the longest suffix of `buf` that is a proper prefix of some secret.
    fn partial_tail(&self, buf: &[u8]) -> usize {
        self.pairs
            .iter()
            .map(|(secret, _)| {
                (1..secret.len().min(buf.len() + 1))
                    .rev()
                    .find(|&n| buf.ends_with(&secret[..n]))
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `text` with every secret replaced by its placeholder.
pub(crate) fn scrub_text(pairs: &[(Vec<u8>, Vec<u8>)], text: &[u8]) -> Vec<u8> {
    let mut scrubber = Scrubber::new(pairs.to_vec());
    let mut out = scrubber.push(text);
    out.extend(scrubber.finish());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber() -> Scrubber {
        Scrubber::new(vec![(b"sk-REAL-123456".to_vec(), b"sk-PH".to_vec())])
    }

    #[test]
    fn secrets_are_replaced_even_across_chunks() {
        let mut s = scrubber();
        let mut out = s.push(b"data: bad key sk-REA");
        assert_eq!(out, b"data: bad key ");
        out.extend(s.push(b"L-123456 here\n\n"));
        out.extend(s.finish());
        assert_eq!(String::from_utf8(out).unwrap(), "data: bad key sk-PH here\n\n");
    }

    #[test]
    fn ordinary_chunks_pass_at_once() {
        let mut s = scrubber();
        assert_eq!(s.push(b"event: ping\ndata: {}\n\n"), b"event: ping\ndata: {}\n\n");
        // A held prefix that turns out not to be a secret is released.
        assert_eq!(s.push(b"ends with sk-"), b"ends with ");
        assert_eq!(s.push(b"x"), b"sk-x");
        assert_eq!(s.finish(), b"");
        assert_eq!(scrub_text(&s.pairs, b"k=sk-REAL-123456"), b"k=sk-PH");
        assert!(Scrubber::new(vec![(b"short".to_vec(), b"p".to_vec())]).is_noop());
    }
}

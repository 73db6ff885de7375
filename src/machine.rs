//! The seal and open state machines that every host runs, whatever its
//! engine: the native [`crate::ObjectSealer`] and [`crate::Opener`] on the
//! Rust AES, and the browser package's streams on WebCrypto or on the wasm
//! AES. A machine takes the *length* of each chunk and answers with
//! [`Step`]s: which bytes to hold, and which segment to run through the
//! cipher under which [`Nonce`]. The host keeps the bytes where they are
//! (native, wasm or JS memory), runs the steps on its engine, and reports
//! each segment's digest back in order. The machine keeps the format's
//! rules: where segments end, which one is last, what the signature covers,
//! and why an object's end does not open.

use core::ops::Range;

use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::format::{MAX_PREAMBLE_SIZE, Metadata};
use crate::key::KEY_SIZE;
use crate::object::{Opened, Sealer, Trailer, open_preamble, require_name};
use crate::signature::{SIGNATURE_SIZE, SegmentDigest, SignedContent};
use crate::stream::{
    Cut, Cutter, HEADER_SIZE, Header, Nonce, SegmentCipher, TAG_SIZE, end_probes,
    final_segment_allowed,
};
use crate::{ObjectName, Secret, format::Preamble};

/// Where a step's bytes are in the host's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece {
    /// [`OpenPush::released`]: bytes held back as a possible signature until
    /// this push showed they are not.
    Released,
    /// The chunk just pushed (offsets count from its start).
    Chunk,
}

/// One thing a host does for a push, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Append `len` bytes of `piece` from `at` to the held segment, which
    /// holds `offset` bytes before them. `completes`: they are a whole
    /// segment on their own (`offset` is 0), so a host whose chunk stays
    /// unchanged until its next push may hold a view instead of a copy.
    Hold {
        /// Which bytes.
        piece: Piece,
        /// Their start in `piece`.
        at: usize,
        /// Bytes held before them.
        offset: usize,
        /// How many.
        len: usize,
        /// Whether they complete the held segment on their own.
        completes: bool,
    },
    /// Run the cipher on one segment of `len` bytes (plaintext when
    /// sealing, stored bytes when opening): `from` a piece at an offset, or
    /// with `from: None` the held segment, which is empty afterwards.
    Segment {
        /// The segment's nonce (its number and whether it is the last).
        nonce: Nonce,
        /// Where its bytes are; `None`: the held segment.
        from: Option<(Piece, usize)>,
        /// Its length.
        len: usize,
    },
}

/// Appends the steps that cut `len` bytes of `piece`, from `at`.
fn cut(
    cutter: &mut Cutter,
    cipher: &SegmentCipher,
    piece: Piece,
    mut at: usize,
    len: usize,
    steps: &mut Vec<Step>,
) -> Result<()> {
    let end = at + len;
    while let Some(next) = cutter.next(end - at) {
        steps.push(match next {
            Cut::Whole { index, len } => {
                at += len;
                Step::Segment {
                    nonce: cipher.nonce(index, false)?,
                    from: Some((piece, at - len)),
                    len,
                }
            }
            Cut::Release { index, len } => Step::Segment {
                nonce: cipher.nonce(index, false)?,
                from: None,
                len,
            },
            Cut::Hold { offset, len } => {
                at += len;
                Step::Hold {
                    piece,
                    at: at - len,
                    offset,
                    len,
                    completes: offset == 0 && cutter.held_complete(),
                }
            }
        });
    }
    Ok(())
}

fn segments_in(steps: &[Step]) -> impl Iterator<Item = usize> + '_ {
    steps.iter().filter_map(|s| match s {
        Step::Segment { len, .. } => Some(*len),
        Step::Hold { .. } => None,
    })
}

/// Adds digests to `content`, refusing more than the `emitted` segments.
fn record(content: &mut SignedContent, emitted: u64, digests: &[SegmentDigest]) -> Result<()> {
    if content.segments() + digests.len() as u64 > emitted {
        return Err(Error::InvalidInput("more segment digests than segments"));
    }
    digests.iter().for_each(|d| content.add(d));
    Ok(())
}

/// Runs `steps` for a host that keeps its held segment in `held` and its
/// bytes in slices: `segment(nonce, bytes)` gets each segment's bytes in
/// order. The held bytes are wiped when released (when sealing they are
/// plaintext).
pub fn run_steps(
    steps: &[Step],
    released: &[u8],
    chunk: &[u8],
    held: &mut Vec<u8>,
    mut segment: impl FnMut(Nonce, &[u8]) -> Result<()>,
) -> Result<()> {
    let piece = |p: Piece| match p {
        Piece::Released => released,
        Piece::Chunk => chunk,
    };
    for step in steps {
        match *step {
            Step::Hold {
                piece: p, at, len, ..
            } => held.extend_from_slice(&piece(p)[at..at + len]),
            Step::Segment {
                nonce,
                from: Some((p, at)),
                len,
            } => segment(nonce, &piece(p)[at..at + len])?,
            Step::Segment {
                nonce, from: None, ..
            } => {
                let done = segment(nonce, held);
                held.zeroize();
                done?;
            }
        }
    }
    Ok(())
}

/// What a push asks of a sealing host.
#[derive(Debug, Default)]
pub struct SealPush {
    /// The object's head (preamble ‖ payload header), on the first call
    /// only: it goes out before any segment.
    pub head: Option<Vec<u8>>,
    /// The steps for the pushed plaintext.
    pub steps: Vec<Step>,
}

/// Seals one object: plaintext lengths in, steps out, then the signature
/// over the digests the host reported.
pub struct SealMachine {
    sealer: Sealer,
    cutter: Cutter,
    content: SignedContent,
    emitted: u64,
    started: bool,
    finished: bool,
}

impl SealMachine {
    /// A machine for the object `sealer` describes.
    pub fn new(sealer: Sealer) -> Self {
        Self {
            content: sealer.signed_content(),
            sealer,
            cutter: Cutter::plaintext(),
            emitted: 0,
            started: false,
            finished: false,
        }
    }

    /// The object's keys, name and segment cipher.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// `len` more bytes of plaintext. A segment is sealed only once a byte
    /// beyond it arrives: whether it is the last is part of its nonce.
    pub fn push(&mut self, len: usize) -> Result<SealPush> {
        let head = self.begin()?;
        let mut steps = Vec::new();
        let cipher = self.sealer.segment_cipher();
        cut(&mut self.cutter, cipher, Piece::Chunk, 0, len, &mut steps)?;
        self.emitted += segments_in(&steps).count() as u64;
        Ok(SealPush { head, steps })
    }

    /// The plaintext ended: the held segment is the last. After its digest
    /// is recorded, [`SealMachine::signature`] ends the object.
    pub fn finish(&mut self) -> Result<SealPush> {
        let head = self.begin()?;
        self.finished = true;
        let nonce = self
            .sealer
            .segment_cipher()
            .nonce(self.cutter.index(), true)?;
        self.emitted += 1;
        Ok(SealPush {
            head,
            steps: vec![Step::Segment {
                nonce,
                from: None,
                len: self.cutter.held(),
            }],
        })
    }

    fn begin(&mut self) -> Result<Option<Vec<u8>>> {
        if self.finished {
            return Err(Error::InvalidInput("the sealer is finished"));
        }
        Ok((!core::mem::replace(&mut self.started, true)).then(|| self.sealer.head()))
    }

    /// The SHA-256 of the next sealed segments, in order.
    pub fn record(&mut self, digests: &[SegmentDigest]) -> Result<()> {
        record(&mut self.content, self.emitted, digests)
    }

    /// The object's last bytes, once every segment to the last is recorded.
    pub fn signature(&self) -> Result<[u8; SIGNATURE_SIZE]> {
        if !self.finished || self.content.segments() != self.emitted {
            return Err(Error::InvalidInput("the object is not sealed to its end"));
        }
        Ok(self.sealer.sign(&self.content))
    }
}

/// What a push asks of an opening host.
#[derive(Debug, Default)]
pub struct OpenPush {
    /// Bytes held back until now (they might have been the signature),
    /// which [`Piece::Released`] steps read.
    pub released: Vec<u8>,
    /// The steps for the pushed bytes.
    pub steps: Vec<Step>,
}

/// One way an object's end may be read, after its last segment did not
/// open: if every segment listed opens (bytes `range` of the held segment
/// followed by [`OpenMachine::trailer`]), the object ended as `verdict`
/// says.
#[derive(Debug)]
pub struct EndReading {
    /// What this reading means (`Truncated`, `BadSignature`).
    pub verdict: Error,
    /// The segments to try, in order.
    pub segments: Vec<(Nonce, Range<usize>)>,
}

/// The payload side, once the preamble verified.
struct Payload {
    opened: Opened,
    /// The preamble's bytes: the segment key's HKDF info.
    preamble: Vec<u8>,
    header: Vec<u8>,
    /// Set once the payload header arrived.
    cipher: Option<(Zeroizing<[u8; KEY_SIZE]>, SegmentCipher, SignedContent)>,
    cutter: Cutter,
    /// The last bytes so far, held back from the segments: at the end, the
    /// signature.
    trailer: Trailer,
    /// Plaintext bytes of the segments cut so far.
    produced: u64,
    emitted: u64,
    finished: bool,
    /// Set by `finish` when the held segment may be the last: only then
    /// may `verify` be called.
    last_step: bool,
}

enum State {
    Preamble(Vec<u8>),
    Payload(Box<Payload>),
    /// Finished: with the metadata once the object verified.
    Done(Option<Metadata>),
}

/// Opens one object: lengths in (and the few bytes it reads itself: the
/// preamble, the payload header, the held-back trailer), steps out; the
/// end verified against the signature. A wrong key fails (`WrongKey`)
/// before any segment.
pub struct OpenMachine {
    secret: Secret,
    expected_name: Option<ObjectName>,
    state: State,
}

impl OpenMachine {
    /// A machine that opens with `secret`.
    pub fn new(secret: Secret) -> Self {
        Self {
            secret,
            expected_name: None,
            state: State::Preamble(Vec::new()),
        }
    }

    /// Also checks that the object is the one its name in the bucket says
    /// (`NameMismatch` otherwise): a reader that fetched it by name should,
    /// and a reader holding only a file key must (the id in the name is
    /// what certifies the signer). `InvalidInput` once bytes were pushed:
    /// a name set later would check nothing.
    pub fn expect_name(&mut self, name: ObjectName) -> Result<()> {
        match &self.state {
            State::Preamble(buf) if buf.is_empty() => {
                self.expected_name = Some(name);
                Ok(())
            }
            _ => Err(Error::InvalidInput(
                "give the object's name before its first bytes",
            )),
        }
    }

    /// The sealed metadata: once the preamble verified, and after the
    /// object verified.
    pub fn metadata(&self) -> Option<&Metadata> {
        match &self.state {
            State::Payload(p) => Some(&p.opened.metadata),
            State::Done(metadata) => metadata.as_ref(),
            State::Preamble(_) => None,
        }
    }

    /// The verified preamble, file key and metadata, once read (until the
    /// object verified).
    pub fn opened(&self) -> Option<&Opened> {
        match &self.state {
            State::Payload(p) => Some(&p.opened),
            _ => None,
        }
    }

    /// The segment key, once the payload header arrived: for an external
    /// engine (WebCrypto) that must open as [`OpenMachine::segment_cipher`].
    pub fn segment_key(&self) -> Option<&[u8; KEY_SIZE]> {
        self.payload()?.cipher.as_ref().map(|(key, _, _)| &**key)
    }

    /// The segment cipher, once the payload header arrived.
    pub fn segment_cipher(&self) -> Option<&SegmentCipher> {
        self.payload()?.cipher.as_ref().map(|(_, cipher, _)| cipher)
    }

    fn payload(&self) -> Option<&Payload> {
        match &self.state {
            State::Payload(p) => Some(p),
            _ => None,
        }
    }

    /// `len` more object bytes. `read(range)` copies bytes of the chunk
    /// the machine needs itself: the preamble and the payload header while
    /// they arrive, and the chunk's last bytes (at most the signature's
    /// size), held back until later bytes show they are not the signature.
    /// Throws for a wrong key or a malformed preamble before any segment.
    pub fn push(
        &mut self,
        len: usize,
        mut read: impl FnMut(Range<usize>) -> Vec<u8>,
    ) -> Result<OpenPush> {
        let mut at = 0;
        if let State::Preamble(buf) = &mut self.state {
            require_name(&self.secret, self.expected_name.as_ref())?;
            let start = buf.len();
            buf.extend(read(0..len.min(MAX_PREAMBLE_SIZE.saturating_sub(start))));
            let Some((preamble, preamble_len)) = Preamble::parse(buf)? else {
                return Ok(OpenPush::default());
            };
            // The rest of this chunk is payload.
            at = preamble_len - start;
            if let Some(name) = &self.expected_name {
                preamble.check_name(name)?;
            }
            let bytes = preamble.to_bytes();
            let opened = open_preamble(&self.secret, preamble, preamble_len)?;
            self.state = State::Payload(Box::new(Payload {
                opened,
                preamble: bytes,
                header: Vec::with_capacity(HEADER_SIZE),
                cipher: None,
                cutter: Cutter::ciphertext(),
                trailer: Trailer::default(),
                produced: 0,
                emitted: 0,
                finished: false,
                last_step: false,
            }));
        }
        let p = match &mut self.state {
            State::Payload(p) if !p.finished => p,
            _ => return Err(Error::InvalidInput("the opener is finished")),
        };
        if p.cipher.is_none() {
            let take = (len - at).min(HEADER_SIZE - p.header.len());
            p.header.extend(read(at..at + take));
            at += take;
            let Ok(bytes) = <&[u8; HEADER_SIZE]>::try_from(&p.header[..]) else {
                return Ok(OpenPush::default());
            };
            let header = Header::parse(bytes)?;
            let key =
                SegmentCipher::derive_key(&p.opened.file_key.payload_key(), &header, &p.preamble);
            let cipher = SegmentCipher::with_key(&key, &header);
            let content = SignedContent::new(&p.preamble, bytes);
            p.cipher = Some((key, cipher, content));
        }
        // Only the header goes in unheld: the signature is held back from
        // segment bytes alone, so what remains at the end is judged as such.
        let (released, from_chunk) = p.trailer.push(len - at, |from| read(at + from..len));
        let mut out = OpenPush {
            released,
            steps: Vec::new(),
        };
        let (_, cipher, _) = p.cipher.as_ref().expect("set above");
        cut(
            &mut p.cutter,
            cipher,
            Piece::Released,
            0,
            out.released.len(),
            &mut out.steps,
        )?;
        cut(
            &mut p.cutter,
            cipher,
            Piece::Chunk,
            at,
            from_chunk,
            &mut out.steps,
        )?;
        for len in segments_in(&out.steps) {
            p.produced += (len - TAG_SIZE) as u64;
            p.emitted += 1;
        }
        Ok(out)
    }

    /// The SHA-256 of the next segments as stored, in order.
    pub fn record(&mut self, digests: &[SegmentDigest]) -> Result<()> {
        let recording = match &mut self.state {
            State::Payload(p) => p.cipher.as_mut().map(|(_, _, c)| (c, p.emitted)),
            State::Preamble(_) => None,
            State::Done(_) => return Err(Error::InvalidInput("the opener is finished")),
        };
        match recording {
            Some((content, emitted)) => record(content, emitted, digests),
            // Before the payload header no segment was handed out.
            None if digests.is_empty() => Ok(()),
            None => Err(Error::InvalidInput("more segment digests than segments")),
        }
    }

    /// The object ended. If its end is well formed, the step that opens
    /// the held segment as the last; then [`OpenMachine::verify`] with its
    /// digest. `None`, or a last segment that does not open:
    /// [`OpenMachine::end_readings`] tell why. `Truncated` before the
    /// payload's first segment.
    pub fn finish(&mut self) -> Result<Option<Step>> {
        if self.is_finished() {
            return Err(Error::InvalidInput("the opener is finished"));
        }
        let p = match &mut self.state {
            State::Payload(p) if p.cipher.is_some() => p,
            _ => {
                // No payload header: nothing of the payload arrived.
                self.state = State::Done(None);
                return Err(Error::Truncated);
            }
        };
        p.finished = true;
        let (index, held) = (p.cutter.index(), p.cutter.held());
        // Bytes reach the held segment only past the signature's size held
        // back, so a held segment comes with a whole trailer.
        if held == 0 || !final_segment_allowed(index, held) {
            return Ok(None);
        }
        let (_, cipher, _) = p.cipher.as_ref().expect("checked above");
        p.last_step = true;
        Ok(Some(Step::Segment {
            nonce: cipher.nonce(index, true)?,
            from: None,
            len: held,
        }))
    }

    fn is_finished(&self) -> bool {
        match &self.state {
            State::Preamble(_) => false,
            State::Payload(p) => p.finished,
            State::Done(_) => true,
        }
    }

    fn ended(&self) -> Result<(&Payload, &SignedContent)> {
        match &self.state {
            State::Payload(p) if p.finished => {
                let (_, _, content) = p.cipher.as_ref().expect("finish checked it");
                Ok((p, content))
            }
            _ => Err(Error::InvalidInput("the opener has not finished")),
        }
    }

    /// The last segment opened (its stored bytes' SHA-256 is `digest`):
    /// checks the size the metadata declared, then the signature over every
    /// recorded segment and this one. Returns the metadata.
    pub fn verify(&mut self, digest: &SegmentDigest) -> Result<Metadata> {
        let (p, content) = self.ended()?;
        if !p.last_step {
            return Err(Error::InvalidInput(
                "the object's end did not give a last segment",
            ));
        }
        if content.segments() != p.emitted {
            return Err(Error::InvalidInput("a segment's digest is missing"));
        }
        let mut content = content.clone();
        content.add(digest);
        let total = p.produced + (p.cutter.held() - TAG_SIZE) as u64;
        if p.opened.metadata.size.is_some_and(|size| size != total) {
            // Authentic segments, but not the object the preamble describes.
            return Err(Error::Corrupt);
        }
        let signature: &[u8; SIGNATURE_SIZE] = p
            .trailer
            .held()
            .try_into()
            .map_err(|_| Error::InvalidInput("no signature after the last segment"))?;
        p.opened
            .preamble
            .verifying_key
            .verify(&content, signature)?;
        let metadata = p.opened.metadata.clone();
        self.state = State::Done(Some(metadata.clone()));
        Ok(metadata)
    }

    /// The bytes held back at the end: they follow the held segment.
    pub fn trailer(&self) -> Result<&[u8]> {
        Ok(self.ended()?.0.trailer.held())
    }

    /// Why the end did not open (FORMAT.md §5.3 step 5): the readings to
    /// try in order, over the held segment followed by
    /// [`OpenMachine::trailer`]. The first whose every segment opens gives
    /// its verdict; none gives `Corrupt` (and no reading at all:
    /// `Truncated`, an object cut where a segment ended).
    pub fn end_readings(&self) -> Result<Vec<EndReading>> {
        let (p, _) = self.ended()?;
        let (_, cipher, _) = p.cipher.as_ref().expect("finish checked it");
        let rest_len = p.cutter.held() + p.trailer.held().len();
        end_probes(p.cutter.index(), rest_len)
            .into_iter()
            .map(|(verdict, tries)| {
                let segments = tries
                    .into_iter()
                    .map(|(index, last, range)| Ok((cipher.nonce(index, last)?, range)))
                    .collect::<Result<_>>()?;
                Ok(EndReading { verdict, segments })
            })
            .collect()
    }

    /// The verdict of [`OpenMachine::end_readings`] for a host whose
    /// `opens(nonce, bytes)` says whether a segment opens, `rest` being the
    /// held segment followed by the trailer.
    pub fn refusal(&self, rest: &[u8], mut opens: impl FnMut(Nonce, &[u8]) -> bool) -> Error {
        let readings = match self.end_readings() {
            Ok(readings) => readings,
            Err(e) => return e,
        };
        readings
            .into_iter()
            .find(|r| {
                r.segments
                    .iter()
                    .all(|(nonce, range)| opens(*nonce, &rest[range.clone()]))
            })
            .map_or(Error::Corrupt, |r| r.verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::RootKey;
    use crate::signature::segment_digest;
    use crate::stream::FIRST_PLAINTEXT_SEGMENT_SIZE;

    const FIRST: usize = FIRST_PLAINTEXT_SEGMENT_SIZE;

    fn secret() -> Secret {
        Secret::Root(RootKey::from_bytes([7; KEY_SIZE]))
    }

    fn sealer(size: Option<u64>) -> Sealer {
        let meta = Metadata {
            name: "a".into(),
            media_type: String::new(),
            size,
        };
        Sealer::new(&secret(), &meta).unwrap()
    }

    fn sealed(plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut stream = sealer(Some(plain.len() as u64)).into_stream();
        stream.push(plain, &mut out).unwrap();
        stream.finish(&mut out).unwrap();
        out
    }

    fn index(step: &Step) -> Option<(u64, bool)> {
        match step {
            Step::Segment { nonce, .. } => Some((nonce.index(), nonce.to_bytes()[11] == 1)),
            Step::Hold { .. } => None,
        }
    }

    #[test]
    fn seal_steps_hold_a_segment_until_a_byte_after_it_arrives() {
        let mut machine = SealMachine::new(sealer(None));
        // A complete first segment that ends the chunk is held, as a view.
        let first = machine.push(FIRST).unwrap();
        assert_eq!(first.head, Some(machine.sealer().head()));
        assert_eq!(
            first.steps,
            [Step::Hold {
                piece: Piece::Chunk,
                at: 0,
                offset: 0,
                len: FIRST,
                completes: true
            }]
        );
        // One byte more releases it (not the last), then a whole segment
        // goes straight from the chunk, and the rest is held.
        let cap = crate::stream::PLAINTEXT_SEGMENT_SIZE;
        let second = machine.push(1 + cap + 5).unwrap();
        assert_eq!(second.head, None);
        assert_eq!(second.steps.len(), 3);
        assert!(matches!(
            second.steps[0],
            Step::Segment {
                from: None,
                len: FIRST,
                ..
            }
        ));
        assert_eq!(index(&second.steps[0]), Some((0, false)));
        assert!(matches!(
            second.steps[1],
            Step::Segment { from: Some((Piece::Chunk, 0)), len, .. } if len == cap
        ));
        assert_eq!(index(&second.steps[1]), Some((1, false)));
        assert_eq!(
            second.steps[2],
            Step::Hold {
                piece: Piece::Chunk,
                at: cap,
                offset: 0,
                len: 6,
                completes: false
            }
        );
        let third = machine.push(0).unwrap();
        assert!(third.steps.is_empty());
        let last = machine.finish().unwrap();
        assert_eq!(last.steps.len(), 1);
        assert_eq!(index(&last.steps[0]), Some((2, true)));
        assert!(matches!(machine.push(1), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn a_seal_is_signed_only_with_every_digest_and_no_more() {
        let mut machine = SealMachine::new(sealer(None));
        machine.push(FIRST + 1).unwrap(); // segment 0 out, 1 byte held
        assert!(matches!(
            machine.record(&[[0; 32], [0; 32]]),
            Err(Error::InvalidInput(_))
        ));
        machine.record(&[[1; 32]]).unwrap();
        assert!(
            matches!(machine.signature(), Err(Error::InvalidInput(_))),
            "not finished"
        );
        machine.finish().unwrap();
        assert!(
            matches!(machine.signature(), Err(Error::InvalidInput(_))),
            "a digest missing"
        );
        machine.record(&[[2; 32]]).unwrap();
        machine.signature().unwrap();
    }

    #[test]
    fn an_empty_object_has_its_head_and_one_empty_last_segment() {
        let mut machine = SealMachine::new(sealer(Some(0)));
        let end = machine.finish().unwrap();
        assert!(end.head.is_some());
        assert_eq!(end.steps.len(), 1);
        assert_eq!(index(&end.steps[0]), Some((0, true)));
    }

    /// Opens `object` in chunks of `chunk` bytes through the machine alone
    /// (the native host's loop), checking the steps on the way.
    fn open_in_chunks(object: &[u8], chunk: usize) -> Result<Vec<u8>> {
        let mut opener = crate::Opener::new(secret());
        let mut out = Vec::new();
        for piece in object.chunks(chunk.max(1)) {
            opener.push(piece, &mut out)?;
        }
        opener.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn opening_agrees_whatever_the_chunking() {
        let plain: Vec<u8> = (0..FIRST + 300).map(|i| (i % 251) as u8).collect();
        let object = sealed(&plain);
        for chunk in [1, 3, 40, 63, 64, 65, 1000, FIRST, FIRST + 1, object.len()] {
            assert!(
                open_in_chunks(&object, chunk).unwrap() == plain,
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn open_reads_the_preamble_and_header_itself_and_holds_back_the_trailer() {
        let plain = vec![9u8; 10];
        let object = sealed(&plain);
        let mut machine = OpenMachine::new(secret());
        let mut read = Vec::new();
        // The head arrives in pieces: no step, no key yet.
        let head = sealer(None).head_len() as usize;
        for range in [0..5, 5..head - 3] {
            let push = machine
                .push(range.len(), |r| {
                    read.push(r.clone());
                    object[range.start..][r].to_vec()
                })
                .unwrap();
            assert!(push.steps.is_empty() && push.released.is_empty());
            assert!(machine.segment_key().is_none());
        }
        // The header's end and the whole rest: the last 64 bytes are held back.
        let rest = &object[head - 3..];
        let push = machine.push(rest.len(), |r| rest[r].to_vec()).unwrap();
        assert!(machine.segment_key().is_some());
        assert_eq!(
            push.steps,
            [Step::Hold {
                piece: Piece::Chunk,
                at: 3,
                offset: 0,
                len: rest.len() - 3 - SIGNATURE_SIZE,
                completes: false
            }]
        );
        let last = machine.finish().unwrap().expect("a well-formed end");
        assert_eq!(index(&last), Some((0, true)));
        assert_eq!(
            machine.trailer().unwrap(),
            &object[object.len() - SIGNATURE_SIZE..]
        );
        let segment = &rest[3..rest.len() - SIGNATURE_SIZE];
        assert!(matches!(
            machine.push(1, |_| vec![0]),
            Err(Error::InvalidInput(_))
        ));
        let metadata = machine.verify(&segment_digest(segment)).unwrap();
        assert_eq!(metadata.size, Some(10));
        // Still there once the machine is done (a stream's caller reads it after).
        assert_eq!(machine.metadata(), Some(&metadata));
        assert!(machine.opened().is_none());
    }

    #[test]
    fn open_releases_held_back_bytes_when_more_arrive() {
        let plain = vec![1u8; FIRST + 10];
        let object = sealed(&plain);
        let head = sealer(None).head_len() as usize;
        let mut machine = OpenMachine::new(secret());
        // Up to 10 bytes past the first segment: those 10 + 54 of the
        // segment are held back.
        let split = head + crate::stream::SEGMENT_SIZE - HEADER_SIZE + 10;
        let push = machine.push(split, |r| object[r].to_vec()).unwrap();
        assert!(push.released.is_empty());
        let rest = &object[split..];
        let push = machine.push(rest.len(), |r| rest[r].to_vec()).unwrap();
        // Those 64 come back as released bytes: the first segment's end,
        // then the start of the last one.
        assert_eq!(push.released, object[split - SIGNATURE_SIZE..split]);
        assert_eq!(index(&push.steps[1]), Some((0, false)));
        assert!(matches!(
            push.steps[0],
            Step::Hold {
                piece: Piece::Released,
                at: 0,
                len: 54,
                ..
            }
        ));
    }

    #[test]
    fn an_end_is_verified_only_with_every_digest() {
        let plain = vec![1u8; FIRST + 10];
        let object = sealed(&plain);
        let mut machine = OpenMachine::new(secret());
        machine.push(object.len(), |r| object[r].to_vec()).unwrap();
        machine.finish().unwrap().expect("well formed");
        // Segment 0's digest was never recorded.
        assert!(matches!(
            machine.verify(&[0; 32]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            machine.record(&[[0; 32], [0; 32]]),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn digests_are_refused_before_any_segment_and_after_the_end() {
        let object = sealed(&[1u8; 10]);
        let mut machine = OpenMachine::new(secret());
        assert!(matches!(
            machine.record(&[[0; 32]]),
            Err(Error::InvalidInput(_))
        ));
        // The preamble, and part of the payload header.
        let head = sealer(None).head_len() as usize - 5;
        machine.push(head, |r| object[r].to_vec()).unwrap();
        assert!(machine.opened().is_some() && machine.segment_key().is_none());
        machine.record(&[]).unwrap();
        assert!(matches!(
            machine.record(&[[0; 32]]),
            Err(Error::InvalidInput(_))
        ));
        let rest = &object[head..];
        machine.push(rest.len(), |r| rest[r].to_vec()).unwrap();
        machine.finish().unwrap().expect("well formed");
        // Digests of earlier segments may still come after the end did.
        machine.record(&[]).unwrap();
        let last = &rest[5..rest.len() - SIGNATURE_SIZE];
        machine.verify(&segment_digest(last)).unwrap();
        assert!(matches!(machine.record(&[]), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn the_end_is_read_only_after_finish_and_finish_only_once() {
        let object = sealed(&[1u8; 10]);
        let mut machine = OpenMachine::new(secret());
        machine.push(object.len(), |r| object[r].to_vec()).unwrap();
        assert!(matches!(machine.trailer(), Err(Error::InvalidInput(_))));
        assert!(matches!(
            machine.end_readings(),
            Err(Error::InvalidInput(_))
        ));
        machine.finish().unwrap().expect("well formed");
        assert_eq!(machine.trailer().unwrap().len(), SIGNATURE_SIZE);
        assert!(matches!(machine.finish(), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn an_end_that_gave_no_last_segment_is_not_verified() {
        let object = sealed(&[1u8; 10]);
        let mut machine = OpenMachine::new(secret());
        // Fewer bytes after the head than a signature: no last segment.
        let cut = &object[..sealer(None).head_len() as usize + 30];
        machine.push(cut.len(), |r| cut[r].to_vec()).unwrap();
        assert_eq!(machine.finish().unwrap(), None);
        assert!(matches!(
            machine.verify(&[0; 32]),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn a_held_segment_is_wiped_even_when_its_engine_fails() {
        let mut machine = SealMachine::new(sealer(None));
        let chunk = [7u8; FIRST];
        let push = machine.push(FIRST).unwrap();
        let mut held = Vec::new();
        run_steps(&push.steps, &[], &chunk, &mut held, |_, _| Ok(())).unwrap();
        assert_eq!(held.len(), FIRST);
        let push = machine.push(1).unwrap();
        let failed = run_steps(&push.steps, &[], &[1], &mut held, |_, _| {
            Err(Error::InvalidInput("engine"))
        });
        assert!(failed.is_err());
        assert!(held.is_empty());
    }

    #[test]
    fn ends_that_do_not_open_get_their_verdicts() {
        let plain = vec![1u8; FIRST + 10];
        let object = sealed(&plain);
        let head = sealer(None).head_len() as usize;
        let boundary = head + crate::stream::SEGMENT_SIZE - HEADER_SIZE;
        let cases: [(&[u8], Error); 4] = [
            (&object[..boundary], Error::Truncated),
            (
                &object[..object.len() - SIGNATURE_SIZE],
                Error::BadSignature,
            ),
            (&object[..object.len() - 1], Error::Corrupt),
            (&object[..head - 1], Error::Truncated),
        ];
        for (bytes, verdict) in cases {
            assert_eq!(
                open_in_chunks(bytes, 1000),
                Err(verdict),
                "{} bytes",
                bytes.len()
            );
        }
    }
}

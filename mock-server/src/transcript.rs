//! What a session keeps of the frames it exchanged: the latest ones in
//! memory for the control API, and with `--transcripts` every one in a file.
//!
//! Recording sits on the path of every frame. Each frame is copied once
//! into a log of fixed-size chunks, its time and direction kept beside it
//! and the line built only when served: no allocation per frame, nothing
//! moved or zeroed as the log grows, the oldest chunk reused once its
//! lines are forgotten, and a busy session touching no more memory than
//! its budget.
//! (In the benchmark, the memory a session touched, not the instructions,
//! was what kept the mock behind a bare server.)

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Arc;

use serde_json::Value;

/// How much of its transcript a session keeps in memory for the control
/// API: the latest 64 KiB of lines (a few hundred frames). The transcript
/// file (`--transcripts`) keeps every frame; a bound per session keeps a
/// mock with many chatty sessions within its memory.
pub(crate) const TRANSCRIPT_BYTES: usize = 64 * 1024;

/// Largest chunk of the in-memory log; the first ones are smaller, so a
/// quiet session holds little.
const CHUNK_BYTES: usize = 4096;

/// Smallest chunk.
const FIRST_CHUNK_BYTES: usize = 512;

/// The pieces of a line around its time, direction and frame.
const PARTS: [&str; 4] = ["{\"ts\":\"", "\",\"dir\":\"", "\",\"frame\":", "}"];

/// A transcript frame: the text of a JSON message as it crossed the wire,
/// or a note about anything else (unparsable text, a drop, a close).
#[derive(Debug, Clone)]
pub enum Recorded<'a> {
    /// JSON text the mock wrote itself: compact, on one line.
    Json(&'a str),
    /// JSON text a widget sent, which may span lines.
    Received(&'a str),
    /// Anything else worth recording.
    Note(Value),
}

impl From<Value> for Recorded<'_> {
    fn from(v: Value) -> Self {
        Recorded::Note(v)
    }
}

/// One session's transcript.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// The frames of the kept lines, oldest first, back to back.
    log: Log,
    /// The rest of each kept line, oldest first.
    lines: VecDeque<Line>,
    /// Bytes of the kept lines as they are served.
    bytes: usize,
    file: Option<std::fs::File>,
    /// Frames recorded since the session began, kept or not.
    recorded: u64,
    /// Those watching the frames as they come (the console's stream); the
    /// line is built for them only while someone listens.
    watchers: Option<tokio::sync::broadcast::Sender<Arc<str>>>,
}

/// Lines a watcher may fall behind by before it is told it missed some.
const WATCH_BACKLOG: usize = 256;

/// One kept line: its frame is the next `len` bytes of the log.
#[derive(Debug)]
struct Line {
    ts: Arc<str>,
    dir: &'static str,
    len: usize,
}

impl Line {
    /// The line's length as served, `{"ts":…,"dir":…,"frame":…}`.
    fn served_len(&self) -> usize {
        PARTS.iter().map(|p| p.len()).sum::<usize>() + self.ts.len() + self.dir.len() + self.len
    }
}

impl Recorder {
    /// A transcript that also writes every line to `file`.
    pub(crate) fn new(file: Option<std::fs::File>) -> Self {
        Self {
            file,
            ..Self::default()
        }
    }

    /// How many lines are kept in memory.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Keeps one line, `{"ts":…,"dir":…,"frame":…}`, after forgetting the
    /// oldest lines it would not fit beside within [`TRANSCRIPT_BYTES`]
    /// (the newest line is always kept). Only the frame is copied; the
    /// time is shared with the frames of its burst. With a file, the line
    /// and a newline are written and flushed at once, so a killed server
    /// loses nothing; an error means the file can no longer be written.
    pub(crate) fn push(
        &mut self,
        ts: &Arc<str>,
        dir: &'static str,
        frame: Recorded<'_>,
    ) -> std::io::Result<()> {
        let note;
        let frame = match frame {
            Recorded::Json(text) => text,
            // A line per frame: text a widget sent pretty-printed is
            // written again on one line.
            Recorded::Received(text)
                if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_none() =>
            {
                text
            }
            Recorded::Received(text) => {
                note = serde_json::from_str::<Value>(text)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|_| Value::String(text.to_owned()).to_string());
                &note
            }
            Recorded::Note(v) => {
                note = v.to_string();
                &note
            }
        };
        let line = Line {
            ts: ts.clone(),
            dir,
            len: frame.len(),
        };
        let served = line.served_len();
        while self.bytes + served > TRANSCRIPT_BYTES {
            let Some(oldest) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= oldest.served_len();
            self.log.forget(oldest.len);
        }
        self.log.push(frame.as_bytes());
        self.lines.push_back(line);
        self.bytes += served;
        self.recorded += 1;
        if let Some(tx) = &self.watchers {
            if tx.receiver_count() == 0 {
                self.watchers = None;
            } else {
                let mut text = String::with_capacity(served);
                push_line(&mut text, ts, dir, frame);
                // No receiver left between the count and the send is fine.
                let _ = tx.send(Arc::from(text));
            }
        }
        match self.file.as_mut() {
            Some(f) => {
                let mut text = String::with_capacity(served);
                push_line(&mut text, ts, dir, frame);
                text.push('\n');
                f.write_all(text.as_bytes()).and_then(|()| f.flush())
            }
            None => Ok(()),
        }
    }

    /// Stops writing the file (after it failed); memory keeps recording.
    pub(crate) fn drop_file(&mut self) {
        self.file = None;
    }

    /// Gives back spare room (a session whose channel is gone records
    /// little more).
    pub(crate) fn shrink(&mut self) {
        self.log.shrink();
        self.lines.shrink_to_fit();
    }

    /// The kept lines numbered `from` or later (a line's number counts
    /// every frame recorded before it), and a receiver of every line
    /// recorded after them.
    pub(crate) fn watch(
        &mut self,
        from: u64,
    ) -> (
        Vec<(u64, String)>,
        tokio::sync::broadcast::Receiver<Arc<str>>,
    ) {
        let first = self.recorded - self.lines.len() as u64;
        let frames = self.log.bytes();
        let frames = String::from_utf8_lossy(&frames);
        let mut kept = Vec::new();
        let mut at = 0;
        for (i, line) in self.lines.iter().enumerate() {
            let number = first + i as u64;
            if number >= from {
                let mut text = String::with_capacity(line.served_len());
                push_line(&mut text, &line.ts, line.dir, &frames[at..at + line.len]);
                kept.push((number, text));
            }
            at += line.len;
        }
        let rx = match &self.watchers {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = tokio::sync::broadcast::channel(WATCH_BACKLOG);
                self.watchers = Some(tx);
                rx
            }
        };
        (kept, rx)
    }

    /// Frames recorded since the session began.
    pub(crate) fn recorded(&self) -> u64 {
        self.recorded
    }

    /// The kept lines as one JSON array, oldest first.
    pub(crate) fn json_array(&self) -> String {
        let frames = self.log.bytes();
        let frames = String::from_utf8_lossy(&frames);
        let mut out = String::with_capacity(self.bytes + 2);
        out.push('[');
        let mut at = 0;
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_line(&mut out, &line.ts, line.dir, &frames[at..at + line.len]);
            at += line.len;
        }
        out.push(']');
        out
    }
}

/// Writes a line without its newline.
fn push_line(out: &mut String, ts: &str, dir: &str, frame: &str) {
    for piece in [PARTS[0], ts, PARTS[1], dir, PARTS[2], frame, PARTS[3]] {
        out.push_str(piece);
    }
}

/// Bytes appended at the back and forgotten at the front, kept in chunks.
#[derive(Debug, Default)]
struct Log {
    /// Each chunk is filled up to its capacity before the next one starts.
    chunks: VecDeque<Vec<u8>>,
    /// Bytes at the start of the first chunk that are forgotten.
    head: usize,
    /// Bytes kept.
    len: usize,
    /// An emptied chunk, kept to be filled again.
    spare: Option<Vec<u8>>,
}

impl Log {
    fn push(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len();
        while !bytes.is_empty() {
            let room = self.chunks.back().map_or(0, |c| c.capacity() - c.len());
            if room == 0 {
                let chunk = match self.spare.take() {
                    Some(chunk) => chunk,
                    None => Vec::with_capacity(
                        self.len
                            .next_power_of_two()
                            .clamp(FIRST_CHUNK_BYTES, CHUNK_BYTES),
                    ),
                };
                self.chunks.push_back(chunk);
                continue;
            }
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            if let Some(chunk) = self.chunks.back_mut() {
                chunk.extend_from_slice(now);
            }
            bytes = later;
        }
    }

    /// Forgets the oldest `n` bytes.
    fn forget(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.head += n;
        while let Some(front) = self.chunks.front() {
            if self.head < front.len() {
                break;
            }
            self.head -= front.len();
            if let Some(mut chunk) = self.chunks.pop_front() {
                chunk.clear();
                if chunk.capacity() == CHUNK_BYTES {
                    self.spare = Some(chunk);
                }
            }
        }
        if self.chunks.is_empty() {
            self.head = 0;
        }
    }

    /// The kept bytes in order.
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        let mut skip = self.head;
        for chunk in &self.chunks {
            out.extend_from_slice(&chunk[skip.min(chunk.len())..]);
            skip = 0;
        }
        out
    }

    fn shrink(&mut self) {
        self.spare = None;
        if let Some(last) = self.chunks.back_mut() {
            last.shrink_to_fit();
        }
        self.chunks.shrink_to_fit();
    }

    /// Memory held for bytes, kept or not.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.spare.as_ref().map_or(0, Vec::capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Arc<str> {
        Arc::from(text)
    }

    fn seq_line(r: &mut Recorder, i: usize) {
        r.push(
            &ts("2026-11-28T00:00:00Z"),
            "out",
            Recorded::Json(&format!("{{\"seq\":{i}}}")),
        )
        .unwrap();
    }

    #[test]
    fn the_recorder_keeps_the_latest_lines_as_one_json_array() {
        let mut r = Recorder::default();
        let total = 5000;
        for i in 0..total {
            seq_line(&mut r, i);
        }
        let frames: Vec<Value> = serde_json::from_str(&r.json_array()).unwrap();
        // Lines of about 64 bytes: the latest ~1000 fit the budget.
        let kept = frames.len();
        assert_eq!(kept, r.len());
        assert!((900..=TRANSCRIPT_BYTES / 50).contains(&kept), "{kept}");
        assert_eq!(frames[kept - 1]["frame"]["seq"], total - 1);
        assert_eq!(frames[0]["frame"]["seq"], total - kept);
        assert_eq!(frames[0]["dir"], "out");
        // The log never holds much more than its budget.
        assert!(r.log.len <= TRANSCRIPT_BYTES, "{}", r.log.len);
        assert!(
            r.log.capacity() <= TRANSCRIPT_BYTES + 2 * CHUNK_BYTES,
            "{}",
            r.log.capacity()
        );
        r.shrink();
        assert!(r.log.capacity() <= TRANSCRIPT_BYTES + CHUNK_BYTES);
        let again: Vec<Value> = serde_json::from_str(&r.json_array()).unwrap();
        assert_eq!(again, frames);
        // Recording goes on where it was.
        for i in total..total + 700 {
            seq_line(&mut r, i);
            if i % 97 == 0 {
                // Reading in between leaves the order as it was.
                let now: Vec<Value> = serde_json::from_str(&r.json_array()).unwrap();
                assert_eq!(now.last().unwrap()["frame"]["seq"], i);
            }
        }
        let later: Vec<Value> = serde_json::from_str(&r.json_array()).unwrap();
        assert_eq!(later.last().unwrap()["frame"]["seq"], total + 699);
        assert_eq!(later[0]["frame"]["seq"], total + 700 - later.len());
        let seqs: Vec<u64> = later
            .iter()
            .map(|f| f["frame"]["seq"].as_u64().unwrap())
            .collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
    }

    #[test]
    fn an_oversized_line_is_still_kept_and_the_next_one_replaces_it() {
        let mut r = Recorder::default();
        let big = format!("\"{}\"", "x".repeat(TRANSCRIPT_BYTES * 2));
        r.push(&ts("t"), "in", Recorded::Json("1")).unwrap();
        r.push(&ts("t"), "in", Recorded::Json(&big)).unwrap();
        let frames: Vec<Value> = serde_json::from_str(&r.json_array()).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(
            frames[0]["frame"].as_str().unwrap().len(),
            TRANSCRIPT_BYTES * 2
        );
        r.push(&ts("t"), "in", Recorded::Json("2")).unwrap();
        let frames: Vec<Value> = serde_json::from_str(&r.json_array()).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0]["frame"], 2);
        r.shrink();
        assert!(r.log.capacity() < 100, "{}", r.log.capacity());
    }

    #[test]
    fn a_transcript_file_gets_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut r = Recorder::new(Some(std::fs::File::create(&path).unwrap()));
        for i in 0..3000 {
            seq_line(&mut r, i);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let seqs: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["frame"]["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(seqs, (0..3000).collect::<Vec<_>>());
        assert!(r.len() < 3000);
    }
}

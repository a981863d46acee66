//! Lines of a log with bounded memory: a line longer than the limit is
//! skipped (and measured), never buffered whole.

use std::io::{self, BufRead};

/// One physical line handed to the caller.
pub enum Line<'a> {
    /// The line without its `\n` (and without a `\r` before it).
    Text(&'a [u8]),
    /// A line longer than the limit; only its length was kept.
    TooLong(u64),
}

/// Reads `reader` line by line and calls `each` for every line. Lines that
/// sit whole in the reader's buffer are handed over without a copy; a line
/// that spans buffer refills is gathered in one scratch buffer that never
/// grows past `max_line` bytes. Returns the bytes read, or the error that
/// stopped the reading together with the bytes read before it.
pub fn for_each_line<R: BufRead>(
    mut reader: R,
    max_line: usize,
    mut each: impl FnMut(Line<'_>),
) -> Result<u64, (io::Error, u64)> {
    let mut scratch: Vec<u8> = Vec::new();
    // Length of the line being gathered in `scratch` (or skipped).
    let mut pending: u64 = 0;
    let mut skipping = false;
    let mut total: u64 = 0;
    loop {
        let avail = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((e, total)),
        };
        if avail.is_empty() {
            if pending > 0 {
                emit(&scratch, pending, skipping, &mut each);
            }
            return Ok(total);
        }
        let len = avail.len();
        let mut start = 0;
        while start < len {
            match memchr::memchr(b'\n', &avail[start..]) {
                Some(i) => {
                    let piece = &avail[start..start + i];
                    if pending == 0 {
                        if piece.len() > max_line {
                            each(Line::TooLong(piece.len() as u64));
                        } else {
                            each(Line::Text(trim_cr(piece)));
                        }
                    } else {
                        pending += piece.len() as u64;
                        if !skipping && scratch.len() + piece.len() <= max_line {
                            scratch.extend_from_slice(piece);
                        } else {
                            skipping = true;
                        }
                        emit(&scratch, pending, skipping, &mut each);
                        scratch.clear();
                        pending = 0;
                        skipping = false;
                    }
                    start += i + 1;
                }
                None => {
                    let piece = &avail[start..];
                    pending += piece.len() as u64;
                    if !skipping && scratch.len() + piece.len() <= max_line {
                        scratch.extend_from_slice(piece);
                    } else {
                        skipping = true;
                        scratch.clear();
                        scratch.shrink_to(max_line);
                    }
                    start = len;
                }
            }
        }
        total += len as u64;
        reader.consume(len);
    }
}

fn emit(scratch: &[u8], pending: u64, skipping: bool, each: &mut impl FnMut(Line<'_>)) {
    if skipping {
        each(Line::TooLong(pending));
    } else {
        each(Line::Text(trim_cr(scratch)));
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn collect(data: &[u8], cap: usize, max: usize) -> Vec<Result<Vec<u8>, u64>> {
        let mut out = Vec::new();
        let reader = BufReader::with_capacity(cap, data);
        for_each_line(reader, max, |l| match l {
            Line::Text(t) => out.push(Ok(t.to_vec())),
            Line::TooLong(n) => out.push(Err(n)),
        })
        .unwrap();
        out
    }

    #[test]
    fn lines_across_small_buffers_and_long_lines() {
        let mut data = b"short\r\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 100));
        data.extend(b"\nlast");
        for cap in [1, 3, 8, 64, 4096] {
            let got = collect(&data, cap, 20);
            assert_eq!(
                got,
                vec![Ok(b"short".to_vec()), Err(100), Ok(b"last".to_vec())],
                "buffer {cap}"
            );
        }
    }

    #[test]
    fn long_last_line_without_newline() {
        let data = vec![b'y'; 50];
        assert_eq!(collect(&data, 7, 10), vec![Err(50)]);
        assert_eq!(collect(b"", 7, 10), Vec::<Result<Vec<u8>, u64>>::new());
        assert_eq!(collect(b"\n\n", 7, 10), vec![Ok(vec![]), Ok(vec![])]);
    }
}

//! The duration an audio file declares in its own structure, read without decoding: WAV (`fmt ` and `data`
//! chunks), FLAC (`STREAMINFO`), Ogg Opus/Vorbis (the largest granule position of its pages), MP3 (its frames
//! counted one by one) and MP4/M4A (`moov/mvhd`). Any other container (WebM, AAC in ADTS, …) or a header that
//! does not add up is `None`: the caller decides (it never falls back to the file's size).
//!
//! Where the structure is walked (WAV's data present, MP3's frames, Ogg's pages) the answer is what a decoder
//! will find; FLAC's sample count and MP4's `mvhd` are taken as the file states them.

/// The file's duration in whole seconds, rounded up; `None` when unknown or zero.
pub(super) fn seconds(file: &[u8]) -> Option<u64> {
    let file = skip_id3v2(file);
    let seconds = if file.starts_with(b"RIFF") && file.get(8..12) == Some(b"WAVE") {
        wav(file)
    } else if file.starts_with(b"fLaC") {
        flac(file)
    } else if file.starts_with(b"OggS") {
        ogg(file)
    } else if file.get(4..8) == Some(b"ftyp") {
        mp4(file)
    } else {
        mp3(file)
    };
    seconds.filter(|s| *s > 0)
}

fn u16_le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u32_le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}

fn u32_be(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_be_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}

fn u64_be(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The file after an ID3v2 tag (MP3s, and some FLACs, start with one).
fn skip_id3v2(file: &[u8]) -> &[u8] {
    let Some(head) = file.get(..10).filter(|h| h.starts_with(b"ID3")) else {
        return file;
    };
    // Size: four 7-bit bytes; a footer (flag 0x10) adds 10 more.
    let size = head[6..10]
        .iter()
        .fold(0usize, |acc, b| (acc << 7) | usize::from(b & 0x7f));
    let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
    file.get(10 + size + footer..).unwrap_or_default()
}

/// WAV: the bytes of the `data` chunk present in the file (no more than it declares, unless it declares the
/// streaming sizes 0 or 0xFFFFFFFF) over the byte rate (for PCM, the larger of the stated one and
/// rate × block size, so an inflated stated rate cannot shorten it).
fn wav(file: &[u8]) -> Option<u64> {
    let mut at = 12;
    let mut byte_rate = None;
    while at + 8 <= file.len() {
        let id = &file[at..at + 4];
        let size = u32_le(file, at + 4)?;
        let body = at + 8;
        if id == b"fmt " {
            let stated = u32_le(file, body + 8)?;
            let computed = u32_le(file, body + 4)? * u16_le(file, body + 12)?;
            let pcm = matches!(u16_le(file, body)?, 1 | 3 | 0xFFFE);
            byte_rate = Some(if pcm && computed > 0 {
                stated.min(computed)
            } else {
                stated
            });
        } else if id == b"data" {
            let present = (file.len() - body) as u64;
            let bytes = if size == 0 || size == 0xFFFF_FFFF {
                present
            } else {
                size.min(present)
            };
            return byte_rate.filter(|r| *r > 0).map(|r| bytes.div_ceil(r));
        }
        at = body.checked_add(usize::try_from(size).ok()?.checked_add(size as usize & 1)?)?;
    }
    None
}

/// FLAC: `STREAMINFO`'s total samples over its sample rate (0 samples means unknown).
fn flac(file: &[u8]) -> Option<u64> {
    // The first metadata block is STREAMINFO (type 0), its body at offset 8.
    if file.get(4)? & 0x7f != 0 {
        return None;
    }
    let info = file.get(8..8 + 18)?;
    let rate = (u64::from(info[10]) << 12) | (u64::from(info[11]) << 4) | u64::from(info[12] >> 4);
    let samples = (u64::from(info[13] & 0x0f) << 32) | u32_be(info, 14)?;
    (rate > 0 && samples > 0).then(|| samples.div_ceil(rate))
}

/// Ogg: the largest granule position among the pages of the first logical stream, in samples at the rate its
/// identification header gives (Opus: always 48 kHz, less the pre-skip; Vorbis: its stated rate).
fn ogg(file: &[u8]) -> Option<u64> {
    let serial = u32_le(file, 14)?;
    let segments = usize::from(*file.get(26)?);
    let first_packet = file.get(27 + segments..)?;
    let (rate, pre_skip) = if first_packet.starts_with(b"OpusHead") {
        (48_000, u16_le(first_packet, 10)?)
    } else if first_packet.starts_with(b"\x01vorbis") {
        (u32_le(first_packet, 12)?, 0)
    } else {
        return None;
    };
    let mut at = 0;
    let mut granule = 0u64;
    while let Some(page) = file.get(at..).filter(|p| p.starts_with(b"OggS")) {
        let count = usize::from(*page.get(26)?);
        let body: usize = page
            .get(27..27 + count)?
            .iter()
            .map(|s| usize::from(*s))
            .sum();
        let position = u64::from_le_bytes(page.get(6..14)?.try_into().ok()?);
        // All ones: no packet ends on this page.
        if u32_le(page, 14)? == serial && position != u64::MAX {
            granule = granule.max(position);
        }
        at += 27 + count + body;
    }
    (rate > 0).then(|| granule.saturating_sub(pre_skip).div_ceil(rate))
}

/// MP4/M4A: `moov/mvhd`'s duration over its timescale.
fn mp4(file: &[u8]) -> Option<u64> {
    let moov = find_box(file, b"moov")?;
    let mvhd = find_box(moov, b"mvhd")?;
    let (timescale, duration) = match mvhd.first()? {
        0 => (u32_be(mvhd, 12)?, u32_be(mvhd, 16)?),
        1 => (u32_be(mvhd, 20)?, u64_be(mvhd, 24)?),
        _ => return None,
    };
    let unknown = duration == u64::MAX || duration == u64::from(u32::MAX);
    (timescale > 0 && !unknown).then(|| duration.div_ceil(timescale))
}

/// The body of the first box of type `kind` among the boxes laid out in `boxes`.
fn find_box<'a>(boxes: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    let mut at = 0;
    while at + 8 <= boxes.len() {
        let size = u32_be(boxes, at)?;
        let (header, size) = match size {
            0 => (8, (boxes.len() - at) as u64),
            1 => (16, u64_be(boxes, at + 8)?),
            n => (8, n),
        };
        let end = at.checked_add(usize::try_from(size).ok()?)?;
        if size < header as u64 || end > boxes.len() {
            return None;
        }
        if &boxes[at + 4..at + 8] == kind {
            return boxes.get(at + header..end);
        }
        at = end;
    }
    None
}

/// MPEG-1 bitrates (kbit/s) by layer (I, II, III) and index.
const V1: [[u64; 15]; 3] = [
    [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
];
/// MPEG-2 and 2.5 bitrates (kbit/s): layer I, then layers II and III.
const V2: [[u64; 15]; 2] = [
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// An MPEG audio frame header: (frame length in bytes, samples, sample rate).
fn mpeg_frame(b: &[u8]) -> Option<(usize, u64, u64)> {
    let h = u32::from_be_bytes(b.get(..4)?.try_into().ok()?);
    if h >> 21 != 0x7ff {
        return None;
    }
    let version = (h >> 19) & 3; // 0: MPEG 2.5, 2: MPEG 2, 3: MPEG 1
    let layer = (h >> 17) & 3; // 1: III, 2: II, 3: I
    let bitrate_index = ((h >> 12) & 0xf) as usize;
    let rate_index = ((h >> 10) & 3) as usize;
    let padding = u64::from((h >> 9) & 1);
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    let v1 = version == 3;
    let kbps = match (v1, layer) {
        (true, l) => V1[(3 - l) as usize][bitrate_index],
        (false, 3) => V2[0][bitrate_index],
        (false, _) => V2[1][bitrate_index],
    };
    // MPEG 2 halves the MPEG 1 rates, MPEG 2.5 quarters them.
    let rate: u64 = [44_100, 48_000, 32_000][rate_index] >> (3 - version).min(2);
    let bps = kbps * 1000;
    let (length, samples) = match (layer, v1) {
        (3, _) => ((12 * bps / rate + padding) * 4, 384),
        (2, _) | (1, true) => (144 * bps / rate + padding, 1152),
        _ => (72 * bps / rate + padding, 576),
    };
    Some((usize::try_from(length).ok()?, samples, rate))
}

/// MP3 (MPEG audio): its frames counted from the first (which must be followed by a second), resynchronising
/// past anything between frames; the samples they hold over their rate.
fn mp3(file: &[u8]) -> Option<u64> {
    let (first, _, _) = mpeg_frame(file)?;
    mpeg_frame(file.get(first..)?)?;
    let (mut at, mut samples, mut rate) = (0, 0u64, 0u64);
    while at + 4 <= file.len() {
        match mpeg_frame(&file[at..]) {
            Some((length, n, r)) if length >= 4 && at + length <= file.len() => {
                samples += n;
                rate = r;
                at += length;
            }
            _ => at += 1,
        }
    }
    (rate > 0).then(|| samples.div_ceil(rate))
}

#[cfg(test)]
mod tests;

use super::*;

fn wav(rate: u32, channels: u16, data_len: usize, declared: u32) -> Vec<u8> {
    let block = channels * 2;
    let mut f = b"RIFF\0\0\0\0WAVE".to_vec();
    f.extend(b"fmt \x10\0\0\0");
    f.extend(1u16.to_le_bytes());
    f.extend(channels.to_le_bytes());
    f.extend(rate.to_le_bytes());
    f.extend((rate * u32::from(block)).to_le_bytes());
    f.extend(block.to_le_bytes());
    f.extend(16u16.to_le_bytes());
    f.extend(b"data");
    f.extend(declared.to_le_bytes());
    f.resize(f.len() + data_len, 0);
    f
}

fn ogg_page(serial: u32, granule: u64, packet: &[u8]) -> Vec<u8> {
    let mut p = b"OggS\0\0".to_vec();
    p.extend(granule.to_le_bytes());
    p.extend(serial.to_le_bytes());
    p.extend([0; 8]);
    let segments = packet.len() / 255 + 1;
    p.push(u8::try_from(segments).unwrap());
    p.extend(std::iter::repeat_n(255u8, segments - 1));
    p.push(u8::try_from(packet.len() % 255).unwrap());
    p.extend(packet);
    p
}

#[test]
fn wav_counts_the_data_present() {
    // 16 kHz mono 16-bit: 32,000 bytes a second.
    assert_eq!(seconds(&wav(16_000, 1, 320_000, 320_000)), Some(10));
    // A header declaring an hour over ten seconds of data: ten seconds.
    assert_eq!(seconds(&wav(16_000, 1, 320_000, 115_200_000)), Some(10));
    // Streaming size (0): the data present.
    assert_eq!(seconds(&wav(16_000, 1, 64_001, 0)), Some(3));
    assert_eq!(seconds(&wav(16_000, 1, 0, 0)), None);
}

#[test]
fn flac_reads_streaminfo() {
    let mut f = b"fLaC\x80\0\0\x22".to_vec();
    let mut info = [0u8; 34];
    // 44,100 Hz (20 bits), stereo, 16 bits, 441,000 × 60 samples (36 bits).
    let rate = 44_100u32;
    info[10] = (rate >> 12) as u8;
    info[11] = (rate >> 4) as u8;
    info[12] = ((rate & 0xf) as u8) << 4 | (1 << 1);
    let samples: u64 = 44_100 * 600;
    info[13] = 0xf0 | ((samples >> 32) as u8 & 0x0f);
    info[14..18].copy_from_slice(&(samples as u32).to_be_bytes());
    f.extend(info);
    assert_eq!(seconds(&f), Some(600));
    info[13..18].fill(0);
    f.truncate(8);
    f.extend(info);
    assert_eq!(seconds(&f), None);
}

#[test]
fn ogg_opus_takes_the_largest_granule_less_pre_skip() {
    let mut head = b"OpusHead\x01\x01".to_vec();
    head.extend(312u16.to_le_bytes());
    head.extend(48_000u32.to_le_bytes());
    head.extend([0, 0, 0]);
    let mut f = ogg_page(7, 0, &head);
    f.extend(ogg_page(7, 0, b"OpusTags"));
    f.extend(ogg_page(7, 48_000 * 600 + 312, &[0xfc; 40]));
    // Another logical stream and a page ending no packet do not count.
    f.extend(ogg_page(8, 48_000 * 9_000, &[0; 4]));
    f.extend(ogg_page(7, u64::MAX, &[0; 4]));
    assert_eq!(seconds(&f), Some(600));
}

#[test]
fn ogg_vorbis_uses_its_rate() {
    let mut ident = b"\x01vorbis\0\0\0\0\x01".to_vec();
    ident.extend(22_050u32.to_le_bytes());
    let mut f = ogg_page(1, 0, &ident);
    f.extend(ogg_page(1, 22_050 * 5 + 1, &[0; 10]));
    assert_eq!(seconds(&f), Some(6));
}

#[test]
fn mp3_counts_frames_after_id3() {
    // MPEG 1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417 bytes and 1,152 samples a frame.
    let frame = {
        let mut f = vec![0xff, 0xfb, 0x90, 0x00];
        f.resize(417, 0);
        f
    };
    let mut f = b"ID3\x04\0\0\0\0\0\x05".to_vec();
    f.extend([0; 5]);
    for _ in 0..383 {
        f.extend(&frame);
    }
    f.extend(b"TAG junk at the end");
    // 383 × 1152 / 44100 = 10.005 s → 11.
    assert_eq!(seconds(&f), Some(11));
    // MPEG 2 layer III, 8 kbit/s, 16 kHz: 36 bytes, 576 samples.
    let low = {
        let mut f = vec![0xff, 0xf3, 0x18, 0x00];
        f.resize(36, 0);
        f
    };
    assert_eq!(seconds(&low.repeat(1000)), Some(36));
    assert_eq!(seconds(&[0x55; 2000]), None);
}

#[test]
fn mp4_reads_mvhd() {
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&90_500u32.to_be_bytes());
    let boxed = |kind: &[u8], body: &[u8]| {
        let mut b = u32::try_from(body.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        b.extend(kind);
        b.extend(body);
        b
    };
    let mut f = boxed(b"ftyp", b"M4A \0\0\0\0");
    f.extend(boxed(b"mdat", &[0; 64]));
    f.extend(boxed(b"moov", &boxed(b"mvhd", &mvhd)));
    assert_eq!(seconds(&f), Some(91));
}

//! Audio: speech (a short WAV or MP3) and transcriptions/translations of a multipart upload, in the format asked.

use super::*;

/// `POST /v1/audio/speech`: fake audio in the asked format (content type as OpenAI sends it), 64 bytes per input
/// character, starting with the format's magic bytes.
pub(crate) fn speech(body: &Value) -> Result<(&'static str, Vec<u8>), String> {
    required_str(body, "model", "you must provide a model parameter")?;
    required_str(body, "voice", "'voice' is a required property")?;
    let input = required_str(body, "input", "'input' is a required property")?;
    let (content_type, magic): (&'static str, &[u8]) = match body
        .get("response_format")
        .and_then(Value::as_str)
        .unwrap_or("mp3")
    {
        "mp3" => ("audio/mpeg", b"ID3"),
        "opus" => ("audio/ogg", b"OggS"),
        "aac" => ("audio/aac", b"\xff\xf1"),
        "flac" => ("audio/flac", b"fLaC"),
        "wav" => ("audio/wav", b"RIFF"),
        "pcm" => ("audio/pcm", b""),
        other => return Err(format!("Invalid response_format '{other}'")),
    };
    let mut audio = magic.to_vec();
    audio.resize(magic.len() + 64 * input.chars().count(), 0x55);
    Ok((content_type, audio))
}

/// The fields of a `multipart/form-data` body, scanned plainly (this is a test double): (name, is a file, data).
pub(super) fn form_fields<'b>(
    raw: &'b [u8],
    content_type: &str,
) -> Option<Vec<(String, bool, &'b [u8])>> {
    let boundary = content_type.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let text_len = raw.len();
    let mut out = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    let d = delimiter.as_bytes();
    let mut i = 0;
    while i + d.len() <= text_len {
        if &raw[i..i + d.len()] == d {
            starts.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    for w in starts.windows(2) {
        let part = &raw[w[0] + d.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let split = part.windows(4).position(|x| x == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&part[..split]).into_owned();
        let data = &part[split + 4..];
        let data = data.strip_suffix(b"\r\n").unwrap_or(data);
        let name = head.split("name=\"").nth(1)?.split('"').next()?.to_owned();
        out.push((name, head.contains("filename="), data));
    }
    Some(out)
}

/// `POST /v1/audio/transcriptions` / `translations` as OpenAI answers them: the text for an upload lasting
/// `seconds` (when the test set none, one second per 100 bytes of the file). Whisper models answer in the asked
/// `response_format` (json with `usage: {type: duration}`, verbose_json with `duration` and segments, text, srt,
/// vtt); the gpt-4o-transcribe family only json (with `usage: {type: tokens}`: 10 audio tokens a second, a text
/// token per word of `prompt`, an output token per word of the text) and plain text.
pub(crate) fn transcription(
    raw: &[u8],
    content_type: &str,
    translate: bool,
    seconds: Option<f64>,
) -> Result<(&'static str, String), String> {
    let fields = form_fields(raw, content_type).ok_or("Could not parse multipart form")?;
    let field = |n: &str| {
        fields
            .iter()
            .find(|(name, file, _)| name == n && !file)
            .map(|(_, _, d)| String::from_utf8_lossy(d).into_owned())
    };
    let model = field("model").ok_or("you must provide a model parameter")?;
    let file = fields
        .iter()
        .find(|(name, file, _)| name == "file" && *file)
        .ok_or("Missing required parameter: 'file'.")?;
    let seconds = seconds.unwrap_or((file.2.len().div_ceil(100).max(1)) as f64 - 0.5);
    let text = if translate {
        "Hello, world (translated)."
    } else {
        "Hello, world."
    };
    let format = field("response_format").unwrap_or_else(|| "json".to_owned());
    if model.starts_with("gpt-4o") {
        return token_transcription(&format, &model, text, seconds, field("prompt"));
    }
    let whole = seconds.ceil() as u64;
    Ok(match format.as_str() {
        "json" => (
            "application/json",
            json!({"text": text, "usage": {"type": "duration", "seconds": whole}}).to_string(),
        ),
        "verbose_json" => (
            "application/json",
            json!({"task": if translate { "translate" } else { "transcribe" }, "language": "english",
                   "duration": seconds, "text": text,
                   "segments": [{"id": 0, "start": 0.0, "end": seconds, "text": text}]})
            .to_string(),
        ),
        "text" => ("text/plain; charset=utf-8", format!("{text}\n")),
        "srt" => ("text/plain; charset=utf-8", format!("1\n00:00:00,000 --> 00:00:0{},000\n{text}\n\n", whole.min(9))),
        "vtt" => ("text/plain; charset=utf-8", format!("WEBVTT\n\n00:00:00.000 --> 00:00:0{}.000\n{text}\n\n", whole.min(9))),
        other => return Err(format!("Invalid response_format '{other}'")),
    })
}

/// A gpt-4o-transcribe answer: json with token usage, or plain text (which reports nothing).
fn token_transcription(
    format: &str,
    model: &str,
    text: &str,
    seconds: f64,
    prompt: Option<String>,
) -> Result<(&'static str, String), String> {
    let audio_tokens = (seconds * 10.0).ceil() as u64;
    let text_tokens = prompt.map_or(0, |p| p.split_whitespace().count() as u64);
    let output_tokens = text.split_whitespace().count() as u64;
    let input_tokens = audio_tokens + text_tokens;
    match format {
        "json" => Ok((
            "application/json",
            json!({"text": text, "usage": {"type": "tokens", "input_tokens": input_tokens,
                "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": text_tokens},
                "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}})
            .to_string(),
        )),
        "text" => Ok(("text/plain; charset=utf-8", format!("{text}\n"))),
        other => Err(format!(
            "response_format '{other}' is not compatible with model '{model}'. Use 'json' or 'text'."
        )),
    }
}
